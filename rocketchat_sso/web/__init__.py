"""HTTP in and out: the endpoints and their guards, the loading page's headers, the embed, CORS,
the client-address middleware.

Imports the layers below (rooms, accounts, sessions, rocketchat) and the base; never operations.
"""
