"""Telling operators what is wrong: the system checks, the rules they share with the doctor, the
doctor's live checks and the smoke test.

Imports the layers below (rooms, accounts, sessions, rocketchat) and the base; never web.
"""
