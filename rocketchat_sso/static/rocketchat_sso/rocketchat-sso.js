/*
 * django-rocketchat-sso: sign an embedded Rocket.Chat in as the page's user, and talk to it.
 * No build step, no framework. Rendered by {% rocketchat_iframe %}; see README, "Embedding".
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
 * chat.go(path), chat.logout(), chat.setStatus(status), chat.on(eventName, handler) -> off().
 * RocketChatSSO.on/command/go/logout/setStatus do the same for every chat on the page. Every
 * event is also dispatched on the iframe as a DOM event 'rocketchat:<eventName>' (bubbling,
 * detail = data).
 */
(function (window, document) {
  'use strict';

  var SELECTOR = 'iframe[data-rocketchat-sso]';
  var ANY = '*';
  var ERROR_EVENT = 'sso-error';

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
    this.handlers = {};
    this.token = null;
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
  Chat.prototype.logout = function () { return this.command('logout'); };
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
          chat.emit(ERROR_EVENT, { status: response.status, error: body.error || '', message: body.message || '' });
          if (response.status === 401) {
            chat.authenticated = false; // the session ended since the page was rendered
            chat.sync();
          }
          return null;
        });
      }, function () {
        chat.emit(ERROR_EVENT, { status: 0, error: 'network', message: '' });
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
        }
      });
    } else if (this.syncLogout) {
      this.logout();
    }
  };

  Chat.prototype.receive = function (event) {
    var data = event.data;
    if (!data || typeof data !== 'object' || typeof data.eventName !== 'string') {
      return;
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
    logout: each('logout'),
    setStatus: each('setStatus')
  };
  window.RocketChatSSO = api;

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', scan);
  }
  scan();
}(window, document));
