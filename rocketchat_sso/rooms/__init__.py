"""Rooms from groups: Rocket.Chat private groups whose members follow Django groups.

``mapping`` reads ``ROCKETCHAT_SSO_GROUP_ROOMS``; ``api`` makes the ``groups.*`` calls;
``membership`` brings an account or a room in line; ``dispatch`` runs that after the commit
(``django.tasks``, a thread, or inline) on group changes and sign-ins; ``tasks`` is the task;
``checks`` and ``doctor`` report what is wrong. Docs: ``docs/rooms.rst``.
"""
