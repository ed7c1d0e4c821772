"""The demo's stand-in over HTTP: the REST model, its web client and its DDP WebSocket."""

from __future__ import annotations

from example.standin.chat import ChatRocketChat
from example.standin.ddp import DDPServer
from example.standin.webclient import WebClient
from rocketchat_sso.testing.server import RocketChatServer


def chat_server(
    fake: ChatRocketChat, address: tuple[str, int] = ("127.0.0.1", 0), *, verbose: bool = False
) -> RocketChatServer:
    """A server (not started) answering REST, the web client's pages and ``/websocket``."""
    return RocketChatServer(
        fake, address, web_client=WebClient(fake), websocket=DDPServer(fake), verbose=verbose
    )
