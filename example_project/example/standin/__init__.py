"""The demo's Rocket.Chat: the package's stand-in plus chat rooms and a web client imitation.

:mod:`example.standin.chat` adds rooms, messages and unread counters to
:class:`~rocketchat_sso.testing.FakeRocketChat`; :mod:`example.standin.webclient` plays
Rocket.Chat's web client. The demo (``manage.py demo``) and the browser tests use both; run them
alone with ``python -m example.standin`` (``example_project`` on ``PYTHONPATH``).
"""
