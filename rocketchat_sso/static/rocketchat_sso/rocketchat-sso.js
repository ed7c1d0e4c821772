/*
 * django-rocketchat-sso: sign an embedded Rocket.Chat in as the page's user, and talk to it.
 * No build step, no framework. Rendered by {% rocketchat_iframe %}; see docs/embedding.rst.
 *
 * For each <iframe data-rocketchat-sso>:
 * - a signed-in user: fetch a token from the token endpoint (same origin) once, and post
 *   {externalCommand: 'login-with-token', token} to the iframe, at Rocket.Chat's exact origin,
 *   right away (the iframe may have loaded before this script ran), on the iframe's load event
 *   and on each 'startup' event Rocket.Chat sends;
 * - an anonymous user (data-rocketchat-sync-logout="true"): post {externalCommand: 'logout'} at
 *   the same moments, so logging out of the site signs the chat out on the next page;
 * - messages are accepted only from that iframe's window at Rocket.Chat's origin.
 *
 * API: window.RocketChatSSO.get(iframeOrId) -> chat; chat.command(name, payload),
 * chat.go(path), chat.setStatus(status), chat.on(eventName, handler) -> off();
 * chat.signedIn({timeout}, callback?) -> Promise: resolves when Rocket.Chat reports the user
 * signed in ('Custom_Script_Logged_In', sent when Iframe_Integration_send_enable is on), rejects
 * with an Error whose .reason says why not (see REASONS); chat.logout() -> Promise: posts
 * Rocket.Chat's 'logout' command and revokes the session's token through the site's logout
 * endpoint. RocketChatSSO.on/command/go/setStatus/logout/signedIn do the same for every chat on
 * the page. Every event is also dispatched on the iframe as a DOM event 'rocketchat:<eventName>'
 * (bubbling, detail = data).
 */
(function (window, document) {
  'use strict';

  var SELECTOR = 'iframe[data-rocketchat-sso]';
  var ANY = '*';
  var ERROR_EVENT = 'sso-error';
  // client/views/root/MainLayout/useCustomScript.ts: fired whenever the user id is set or unset.
  var SIGNED_IN_EVENT = 'Custom_Script_Logged_In';
  var SIGNED_OUT_EVENTS = ['Custom_Script_Logged_Out', 'Custom_Script_On_Logout'];
  var DEFAULT_TIMEOUT_MS = 10000;
  // Delays between re-posts of the token to a Rocket.Chat not heard from yet (about 4 s in all).
  var REPOST_DELAYS = [250, 500, 1000, 2000];
  var CSRF_HEADER = 'X-CSRFToken';
  // Why signedIn() rejected: error.reason, and a message naming what to check.
  var REASONS = {
    not_authenticated: function () {
      return 'The page\'s user is not logged in to the site.';
    },
    token_refused: function (chat) {
      var failure = chat.failure || {};
      return 'The site\'s token endpoint refused a token (' + (failure.status || 'network') + ' ' +
        (failure.error || '') + '): ' + (failure.message || 'see the site\'s log') + '.';
    },
    send_disabled: function () {
      return 'Rocket.Chat sent this page no events: turn on Iframe_Integration_send_enable and set ' +
        'Iframe_Integration_send_target_origin to ' + window.location.origin + ' (or *). ' +
        '(Or Rocket.Chat had started before this script ran: include it in the page, not later.)';
    },
    not_confirmed: function () {
      return 'Rocket.Chat started but did not report a sign-in: check that ' +
        'Iframe_Integration_receive_enable is on, that Iframe_Integration_receive_origin lists ' +
        window.location.origin + ', and that Rocket.Chat accepts the token (its log).';
    }
  };

  if (window.RocketChatSSO && window.RocketChatSSO.scan) {
    window.RocketChatSSO.scan(); // the script was included twice: only look for new iframes
    return;
  }

  var globalHandlers = {};

  function addHandler(table, eventName, handler) {
    (table[eventName] = table[eventName] || []).push(handler);
    return function off() {
      var list = table[eventName] || [];
      var index = list.indexOf(handler);
      if (index > -1) {
        list.splice(index, 1);
      }
    };
  }

  function callAll(list, context, args) {
    (list || []).slice().forEach(function (handler) {
      try {
        handler.apply(context, args);
      } catch (error) {
        window.setTimeout(function () { throw error; }, 0); // report, keep the others running
      }
    });
  }

  function Chat(iframe) {
    this.iframe = iframe;
    this.origin = iframe.getAttribute('data-rocketchat-origin');
    this.tokenUrl = iframe.getAttribute('data-rocketchat-token-url');
    this.authenticated = iframe.getAttribute('data-rocketchat-user') === 'authenticated';
    this.syncLogout = iframe.getAttribute('data-rocketchat-sync-logout') !== 'false';
    this.logoutUrl = iframe.getAttribute('data-rocketchat-logout-url');
    this.csrfToken = iframe.getAttribute('data-rocketchat-csrf-token');
    this.handlers = {};
    this.token = null;
    this.heard = false; // any event from Rocket.Chat yet: its sending works
    this.isSignedIn = false;
    this.failure = null; // the token endpoint's refusal, if any
    this.waiters = [];
    var chat = this;
    iframe.addEventListener('load', function () { chat.sync(); });
    this.sync();
  }

  Chat.prototype.post = function (message) {
    var target = this.iframe.contentWindow;
    if (target && this.origin) {
      // Dropped by the browser unless the frame is at Rocket.Chat's origin: never '*'.
      target.postMessage(message, this.origin);
    }
    return this;
  };

  Chat.prototype.command = function (name, payload) {
    var message = {};
    Object.keys(payload || {}).forEach(function (key) { message[key] = payload[key]; });
    message.externalCommand = name;
    return this.post(message);
  };

  Chat.prototype.go = function (path) { return this.command('go', { path: path }); };
  Chat.prototype.setStatus = function (status) { return this.command('set-user-status', { status: status }); };

  Chat.prototype.on = function (eventName, handler) { return addHandler(this.handlers, eventName, handler); };

  Chat.prototype.emit = function (eventName, data, event) {
    callAll(this.handlers[eventName], this, [data, event]);
    callAll(globalHandlers[eventName], this, [data, event]);
    callAll(this.handlers[ANY], this, [eventName, data, event]);
    callAll(globalHandlers[ANY], this, [eventName, data, event]);
    this.iframe.dispatchEvent(new CustomEvent('rocketchat:' + eventName, { detail: data, bubbles: true }));
  };

  // The token is fetched once per page; every later sync posts the same one.
  Chat.prototype.fetchToken = function () {
    var chat = this;
    if (!this.token) {
      this.token = window.fetch(this.tokenUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { Accept: 'application/json' }
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.ok && typeof body.loginToken === 'string') {
            return body.loginToken;
          }
          chat.fail({ status: response.status, error: body.error || '', message: body.message || '' });
          if (response.status === 401) {
            chat.authenticated = false; // the session ended since the page was rendered
            chat.sync();
          }
          return null;
        });
      }, function () {
        chat.fail({ status: 0, error: 'network', message: '' });
        return null;
      });
    }
    return this.token;
  };

  Chat.prototype.sync = function () {
    var chat = this;
    if (this.authenticated) {
      this.fetchToken().then(function (token) {
        if (token) {
          chat.command('login-with-token', { token: token });
          chat.repost(token, 0);
        }
      });
    } else if (this.syncLogout) {
      this.command('logout'); // nothing to revoke: the site's session is gone
    }
  };

  // Rocket.Chat may not listen yet when the iframe's load fires, and with integration sending
  // off it never says 'startup': post the token again a few times until Rocket.Chat is heard
  // from. Bounded, and harmless: the browser delivers it only to Rocket.Chat's origin.
  Chat.prototype.repost = function (token, attempt) {
    var chat = this;
    if (attempt === 0) {
      if (this.reposting) {
        return;
      }
      this.reposting = true;
    }
    if (attempt >= REPOST_DELAYS.length) {
      this.reposting = false;
      return;
    }
    window.setTimeout(function () {
      if (chat.heard || chat.isSignedIn || !chat.authenticated) {
        chat.reposting = false;
        return;
      }
      chat.command('login-with-token', { token: token });
      chat.repost(token, attempt + 1);
    }, REPOST_DELAYS[attempt]);
  };

  Chat.prototype.fail = function (detail) {
    this.failure = detail;
    this.settle(detail.status === 401 ? 'not_authenticated' : 'token_refused');
    this.emit(ERROR_EVENT, detail);
  };

  // Resolve (no reason) or reject (a REASONS key) every pending signedIn().
  Chat.prototype.settle = function (reason) {
    var waiters = this.waiters;
    var chat = this;
    this.waiters = [];
    waiters.forEach(function (waiter) { waiter(reason, chat); });
  };

  function signInError(reason, chat) {
    var error = new Error(REASONS[reason](chat));
    error.reason = reason;
    error.chat = chat;
    if (reason === 'token_refused') {
      error.detail = chat.failure;
    }
    return error;
  }

  Chat.prototype.signedIn = function (options, callback) {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    }
    var timeout = (options && options.timeout) || DEFAULT_TIMEOUT_MS;
    var chat = this;
    var promise = new Promise(function (resolve, reject) {
      function done(reason) {
        window.clearTimeout(timer);
        if (reason) {
          reject(signInError(reason, chat));
        } else {
          resolve(chat);
        }
      }
      var timer = window.setTimeout(function () {
        var index = chat.waiters.indexOf(done);
        if (index > -1) {
          chat.waiters.splice(index, 1);
        }
        done(chat.heard ? 'not_confirmed' : 'send_disabled');
      }, timeout);
      if (chat.isSignedIn) {
        done();
      } else if (!chat.authenticated) {
        done('not_authenticated');
      } else if (chat.failure) {
        done(chat.failure.status === 401 ? 'not_authenticated' : 'token_refused');
      } else {
        chat.waiters.push(done);
      }
    });
    if (callback) {
      promise.then(function (result) { callback(null, result); }, function (error) { callback(error); });
    }
    return promise;
  };

  // Rocket.Chat's 'logout' command, and the server-side revocation of the session's token, so
  // the user is signed out (and not shown online) even where Rocket.Chat ignores the command.
  Chat.prototype.logout = function () {
    var chat = this;
    this.command('logout');
    this.token = null;
    this.isSignedIn = false;
    if (!this.logoutUrl) {
      return Promise.resolve({ revoked: false });
    }
    var headers = { Accept: 'application/json' };
    if (this.csrfToken) {
      headers[CSRF_HEADER] = this.csrfToken;
    }
    return window.fetch(this.logoutUrl, {
      method: 'POST',
      credentials: 'same-origin',
      headers: headers
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          chat.emit(ERROR_EVENT, { status: response.status, error: body.error || '', message: body.message || '' });
        }
        return { revoked: Boolean(body.revoked) };
      });
    }, function () {
      chat.emit(ERROR_EVENT, { status: 0, error: 'network', message: '' });
      return { revoked: false };
    });
  };

  Chat.prototype.receive = function (event) {
    var data = event.data;
    if (!data || typeof data !== 'object' || typeof data.eventName !== 'string') {
      return;
    }
    this.heard = true;
    if (data.eventName === SIGNED_IN_EVENT) {
      this.isSignedIn = true;
      this.settle(null);
    } else if (SIGNED_OUT_EVENTS.indexOf(data.eventName) > -1) {
      this.isSignedIn = false;
    }
    if (data.eventName === 'startup') {
      this.sync(); // Rocket.Chat (re)started in the frame: it may not have heard us yet
    }
    this.emit(data.eventName, data.data, event);
  };

  var chats = [];

  function scan() {
    Array.prototype.forEach.call(document.querySelectorAll(SELECTOR), function (iframe) {
      if (!iframe.rocketChatSSO) {
        iframe.rocketChatSSO = new Chat(iframe);
        chats.push(iframe.rocketChatSSO);
      }
    });
    return chats.slice();
  }

  window.addEventListener('message', function (event) {
    for (var i = 0; i < chats.length; i += 1) {
      if (event.source === chats[i].iframe.contentWindow && event.origin === chats[i].origin) {
        chats[i].receive(event);
        return;
      }
    }
  });

  function each(method) {
    return function () {
      var args = arguments;
      chats.forEach(function (chat) { chat[method].apply(chat, args); });
      return api;
    };
  }

  // For every chat on the page: a Promise of all their results.
  function all(method) {
    return function () {
      var args = arguments;
      return Promise.all(chats.map(function (chat) { return chat[method].apply(chat, args); }));
    };
  }

  var api = {
    scan: scan,
    chats: function () { return chats.slice(); },
    get: function (target) {
      if (typeof target === 'string') {
        target = document.getElementById(target);
      }
      for (var i = 0; i < chats.length; i += 1) {
        if (!target || chats[i].iframe === target) {
          return chats[i];
        }
      }
      return null;
    },
    on: function (eventName, handler) { return addHandler(globalHandlers, eventName, handler); },
    command: each('command'),
    go: each('go'),
    logout: all('logout'),
    signedIn: function (options, callback) {
      if (typeof options === 'function') {
        callback = options;
        options = {};
      }
      var promise = all('signedIn')(options);
      if (callback) {
        promise.then(function (result) { callback(null, result); }, function (error) { callback(error); });
      }
      return promise;
    },
    setStatus: each('setStatus')
  };
  window.RocketChatSSO = api;

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', scan);
  }
  scan();
}(window, document));
