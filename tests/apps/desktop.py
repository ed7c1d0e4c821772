"""Rocket.Chat's desktop app (RocketChat/Rocket.Chat.Electron), emulated in Chromium.

Written from the app's source at release 4.15.6 (tag ``4.15.6``, commit
5ec0102759e7a2478f8be26f0d285fa9a2f7a31d). At the newest commit read,
713204c544d21b7c9c22f17d29647d30a2e90cdb, the window-open handler and the partition are the
same, and the permission handler still refuses storage access (it grants geolocation,
notifications and fullscreen to known servers only there). Each behaviour cites its file:

- **The web client in a webview with its own session.** ``src/ui/components/ServersView/
  ServerPane.tsx``: ``<webview partition={`persist:${serverUrl}`} allowpopups>``: cookies and
  storage of their own, shared with no browser: here, a browser context of its own.
- **Its user agent.** The app never sets one for the server's webview: Electron's default
  ``app.userAgentFallback``, Chromium's with ``Rocket.Chat/<version>`` and
  ``Electron/<version>`` added (``package.json``: ``"electron": "42.5.0"``). The Google
  sign-in exception (``src/ui/main/serverView/index.ts``, ``did-create-window``) plays no part.
  Rocket.Chat's web client sees "Electron" in it and adds ``client=electron`` to the Iframe URL
  (RocketChat/Rocket.Chat ``apps/meteor/client/hooks/iframe/useIframe.ts``; the stand-in's
  web client does the same).
- **The window-open handler.** ``src/ui/main/serverView/index.ts``,
  ``webContents.setWindowOpenHandler``: a ``foreground-tab`` or ``background-tab`` window (a
  link with ``target=_blank``, ``window.open`` without popup features) is denied and opened
  with ``shell.openExternal``: the system browser. Any other (``new-window``: ``window.open``
  with popup features) is allowed, a ``BrowserWindow`` in the webview's session. Chromium
  decides the disposition by the HTML standard's "is a popup" rule, which
  :data:`WINDOW_OPEN_HANDLER` applies. With ``authentication_rule``, the handler of the
  unmerged pull request 3088 (commit eb69853d23e533903a1ab3b410a2063fca13a4cd,
  ``isAuthenticationPopup``): frame names ``Login``, ``OAuth``, ``SSO``, and new windows whose
  address contains ``oauth``, ``auth``, ``login``, ``signin``, ``sso`` or ``authenticate``,
  go to the system browser too. A window sent to the system browser leaves the app: the
  emulation records it in :attr:`DesktopApp.external`, which a test asserts empty.
- **Permissions.** ``setupServerViewPermissionHandler`` (same file) grants ``media`` (asked),
  ``geolocation``, ``notifications``, ``midiSysex``, ``pointerLock``, ``fullscreen``,
  ``openExternal`` (by protocol) and refuses every other: ``storage-access`` included, so the
  Storage Access API is refused without a prompt.

Not emulated, and why: the handler runs in Electron's main process, here in the page (an init
script wrapping ``window.open`` and ``target=_blank`` links in every frame), so a window opened
by other means (a form's ``target``) would escape it; ``did-create-window`` loads the popup's
address a second time (``window.loadURL``), not repeated here; and whether Electron 42 blocks
third-party cookies by default could not be read from the app's source (it sets no cookie
policy): the tests run both ways.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ELECTRON_RELEASE = "4.15.6"
ELECTRON_COMMIT = "5ec0102759e7a2478f8be26f0d285fa9a2f7a31d"
ELECTRON_VERSION = "42.5.0"  # package.json of the release
PR_3088_KEYWORDS = ("oauth", "auth", "login", "signin", "sso", "authenticate")
PR_3088_FRAME_NAMES = ("Login", "OAuth", "SSO")

# The window-open handler, in every frame of the webview: Chromium's disposition (the HTML
# standard's "check if a popup window is requested") and the app's decision on it.
WINDOW_OPEN_HANDLER = """
(() => {
  const rule = %(rule)s;
  const leave = (url, frameName, disposition) => {
    const address = String(new URL(url, location.href));
    window.__rocketchatDesktopOpenExternal({ url: address, frameName, disposition });
  };
  const isPopup = (features) => {
    const tokens = {};
    for (const part of String(features || '').split(/[\\s,]+/)) {
      if (!part) continue;
      const [name, value = ''] = part.split('=');
      tokens[name.toLowerCase()] = value;
    }
    const names = Object.keys(tokens).filter((n) => n !== 'noopener' && n !== 'noreferrer');
    if (!names.length) return false;
    const yes = (n) => n in tokens
      && ['', 'yes', 'true'].includes(tokens[n]) || Number(tokens[n]) > 0 || Number(tokens[n]) < 0;
    if ('popup' in tokens) return yes('popup');
    if (yes('location') && yes('toolbar')) return false;
    for (const n of ['menubar', 'resizable', 'scrollbars', 'status']) {
      if (!yes(n)) return true;
    }
    return false;
  };
  // Pull request 3088's isAuthenticationPopup (not in any release).
  const authentication = (url, frameName, disposition) => {
    if (!rule.authentication) return false;
    if (rule.frameNames.includes(frameName)) return true;
    if (disposition !== 'new-window') return false;
    const lower = String(url).toLowerCase();
    return rule.keywords.some((k) => lower.includes(k));
  };
  const open = window.open.bind(window);
  window.open = (url = '', name = '', features = '') => {
    const target = String(new URL(url || 'about:blank', location.href));
    const disposition = isPopup(features) ? 'new-window' : 'foreground-tab';
    if (disposition !== 'new-window' || authentication(target, name, disposition)) {
      leave(target, name, disposition);
      return null; // { action: 'deny' }: window.open answers null
    }
    return open(url, name, features);
  };
  document.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[target=_blank]') : null;
    if (link && link.href) {
      event.preventDefault();
      leave(link.href, '_blank', 'foreground-tab');
    }
  }, true);
})();
"""


def user_agent(chromium_version: str) -> str:
    """Electron's default user agent for the app (``app.userAgentFallback``)."""
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Rocket.Chat/{ELECTRON_RELEASE} Chrome/{chromium_version} "
        f"Electron/{ELECTRON_VERSION} Safari/537.36"
    )


@dataclass
class DesktopApp:
    """One server added to the desktop app: its webview's session (a browser context)."""

    context: Any
    server_url: str
    external: list[dict[str, str]] = field(default_factory=list)
    # Permissions Chromium would not let automation refuse here (e.g. for a same-site frame,
    # which needs no storage access).
    refusals_not_set: list[str] = field(default_factory=list)

    @classmethod
    def attach(
        cls, context: Any, server_url: str, *, authentication_rule: bool = False
    ) -> DesktopApp:
        """Set ``context`` up as the app's webview for ``server_url``."""
        app = cls(context=context, server_url=server_url)
        rule = {
            "authentication": authentication_rule,
            "keywords": list(PR_3088_KEYWORDS),
            "frameNames": list(PR_3088_FRAME_NAMES),
        }
        context.expose_binding(
            "__rocketchatDesktopOpenExternal", lambda _source, opened: app.external.append(opened)
        )
        context.add_init_script(WINDOW_OPEN_HANDLER % {"rule": json.dumps(rule)})
        return app

    def refuse_storage_access(self, page: Any, embedded_origin: str) -> None:
        """The permission handler's ``callback(false)`` for ``storage-access``."""
        cdp = self.context.new_cdp_session(page)
        browser_context_id = cdp.send("Target.getTargetInfo")["targetInfo"]["browserContextId"]
        for name in ("storage-access", "top-level-storage-access"):
            try:
                self._set_permission(cdp, name, embedded_origin, browser_context_id)
            except Exception as error:  # noqa: BLE001 (Chromium: "can't be granted in current context")
                self.refusals_not_set.append(f"{name}: {error}")
        self.context.rocketchat_desktop_cdp = cdp  # Chromium drops overrides when it detaches

    def _set_permission(
        self, cdp: Any, name: str, embedded_origin: str, browser_context_id: str
    ) -> None:
        cdp.send(
            "Browser.setPermission",
            {
                "permission": {"name": name},
                "setting": "denied",
                "origin": self.server_url,
                "embeddedOrigin": embedded_origin,
                "browserContextId": browser_context_id,
            },
        )

    def open(self) -> Any:
        """The app's window showing the server, as at start-up (``/home``)."""
        page = self.context.new_page()
        page.goto(self.server_url + "/home")
        return page
