/*
 * django-rocketchat-sso loading page (Rocket.Chat's "Iframe URL"). No build step.
 *
 * Inside Rocket.Chat: signed in to the site, fetch a token from the token endpoint (same
 * origin) and post {event: 'login-with-token', loginToken} to Rocket.Chat, at Rocket.Chat's
 * exact origin; signed out, offer the site's login. Rocket.Chat answers a failed login with
 * {event: 'login-error', response}, accepted only from the parent at Rocket.Chat's origin.
 * Every failure shows a reason in plain words (translated server-side, #rocketchat-sso-reasons)
 * and a retry, never a raw error.
 * Opened as a top-level page (the site's login came back here), go on to Rocket.Chat.
 */
(function () {
  'use strict';

  var root = document.getElementById('rocketchat-sso-login');
  if (!root) {
    return;
  }
  var origin = root.getAttribute('data-rocketchat-origin');
  var chatUrl = root.getAttribute('data-rocketchat-url');
  var tokenUrl = root.getAttribute('data-token-url');
  var loginUrl = root.getAttribute('data-login-url');
  var redirectField = root.getAttribute('data-redirect-field') || 'next';
  var authenticated = root.getAttribute('data-authenticated') === 'true';
  var framed = window.parent !== window;

  var reasons = {};
  try {
    reasons = JSON.parse(document.getElementById('rocketchat-sso-reasons').textContent) || {};
  } catch (error) {
    reasons = {};
  }
  var live = root.querySelector('[data-live]');

  // A reason code (the token endpoint's 'error', or 'network', 'login_refused') in plain words.
  function reasonText(code) {
    return reasons[code] || reasons['default'] || '';
  }

  // Show one state; say it in the live region (one region that stays in the page, so screen
  // readers announce each change) and, if this frame has the focus, move it to the state's
  // first control so keyboard users can act on it right away.
  function show(state, reason) {
    root.setAttribute('data-current', state);
    root.setAttribute('data-reason', reason || '');
    var current = null;
    Array.prototype.forEach.call(root.querySelectorAll('[data-state]'), function (section) {
      section.hidden = section.getAttribute('data-state') !== state;
      if (!section.hidden) {
        current = section;
      }
    });
    Array.prototype.forEach.call(root.querySelectorAll('[data-message]'), function (node) {
      node.textContent = reason ? reasonText(reason) : '';
    });
    if (!current) {
      return;
    }
    var announce = current.querySelector('[data-announce]');
    if (live && announce) {
      live.textContent = announce.textContent.replace(/\s+/g, ' ').trim();
    }
    var control = current.querySelector('a[href], button');
    if (control && document.hasFocus()) {
      control.focus();
    }
  }

  // When the chat is embedded in one of the site's own pages (site > Rocket.Chat > this page),
  // come back to that page after logging in rather than to this one.
  function refineLoginLinks() {
    var next;
    try {
      if (window.top !== window && window.top.location.origin === window.location.origin) {
        next = window.top.location.pathname + window.top.location.search + window.top.location.hash;
      }
    } catch (error) {
      return; // the top window is Rocket.Chat's: keep the link that comes back here
    }
    if (!next) {
      return;
    }
    var href = loginUrl + (loginUrl.indexOf('?') > -1 ? '&' : '?') + encodeURIComponent(redirectField) + '=' + encodeURIComponent(next);
    Array.prototype.forEach.call(root.querySelectorAll('[data-login-link]'), function (link) {
      link.setAttribute('href', href);
    });
  }

  function post(message) {
    window.parent.postMessage(message, origin); // Rocket.Chat's origin, never '*'
  }

  function signIn() {
    show('signing-in');
    // Rocket.Chat shows this page only when it is not signed in, so whatever token the session
    // had may be dead: ask the server to check it with Rocket.Chat before handing it out.
    fetch(tokenUrl + (tokenUrl.indexOf('?') < 0 ? '?' : '&') + 'recheck=1', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json' }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status === 401) {
          authenticated = false;
          show('login');
        } else if (!response.ok || typeof body.loginToken !== 'string') {
          show('error', body.error || 'default');
        } else {
          post({ event: 'login-with-token', loginToken: body.loginToken });
        }
      });
    }, function () {
      show('error', 'network');
    });
  }

  function retry() {
    if (authenticated) {
      signIn();
    } else {
      // Logged in meanwhile (another tab)? Rocket.Chat calls the token endpoint again.
      show('signing-in');
      post({ event: 'try-iframe-login' });
    }
  }

  if (!framed) {
    if (authenticated) {
      window.location.replace(chatUrl);
    }
    return;
  }

  window.addEventListener('message', function (event) {
    if (event.source !== window.parent || event.origin !== origin) {
      return;
    }
    var data = event.data;
    if (data && typeof data === 'object' && data.event === 'login-error') {
      if (authenticated) {
        if (window.console && typeof data.response === 'string') {
          window.console.warn('Rocket.Chat refused the sign-in:', data.response); // for admins
        }
        show('error', 'login_refused');
      } else {
        show('login');
      }
    }
  });
  Array.prototype.forEach.call(root.querySelectorAll('[data-retry]'), function (button) {
    button.addEventListener('click', retry);
  });
  refineLoginLinks();
  if (authenticated) {
    signIn();
  } else {
    show('login');
  }
}());
