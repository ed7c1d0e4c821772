/*
 * The Rocket.Chat stand-in's web client: what Rocket.Chat's own client does for iframe login
 * and the iframe integration, step by step, without a framework.
 *
 * Every comment "<file>:" names the file of RocketChat/Rocket.Chat (under apps/meteor/) whose
 * behaviour the code below it reproduces. Everything a server decides (logins, tokens,
 * settings, unread counters) is asked of this server's REST API, which is the Python model
 * (rocketchat_sso/testing/model.py, its rooms and messages in ../chat.py): no REST logic is
 * repeated here. Where Rocket.Chat's client talks DDP (Meteor's WebSocket at /websocket), so
 * does this one (../ddp.py): the subscriptions/get, loadHistory and sendMessage methods, and the
 * stream-notify-user (<uid>/subscriptions-changed) and stream-room-messages streams; it never
 * polls. Meteor.loginWithToken is the DDP 'login' method too. REST only where Rocket.Chat's
 * client uses REST: /me after a login (client/lib/userData.ts synchronizeUserData),
 * subscriptions.read, users.setStatus, rooms.info; the public settings come over DDP
 * ('public-settings/get'); the password form and the
 * logout stay on REST /login and /logout here (Meteor sends both over DDP).
 */
(function () {
  'use strict';

  // client/lib/user.ts: where Meteor keeps the login in localStorage.
  var USER_ID_KEY = 'Meteor.userId';
  var LOGIN_TOKEN_KEY = 'Meteor.loginToken';
  var LOGIN_TOKEN_EXPIRES_KEY = 'Meteor.loginTokenExpires';
  var LOGIN_EXPIRATION_MS = 90 * 24 * 3600 * 1000; // Accounts_LoginExpiration default
  // Meteor's DDP client (packages/ddp-client, Retry): reconnect after 1 s, then x2.2, at most
  // 5 minutes.
  var RETRY_BASE_MS = 1000;
  var RETRY_MAX_MS = 5 * 60 * 1000;
  var HISTORY_LIMIT = 50; // RoomHistoryManager's first page
  var STATUSES = ['online', 'away', 'busy', 'offline'];
  var PUBLIC_SETTINGS = [
    'Accounts_iframe_enabled',
    'Accounts_iframe_url',
    'Accounts_Iframe_api_url',
    'Accounts_Iframe_api_method',
    'Iframe_Integration_send_enable',
    'Iframe_Integration_send_target_origin',
    'Iframe_Integration_receive_enable',
    'Iframe_Integration_receive_origin'
  ];

  // packages/localstorage (Meteor._localStorage): window.localStorage when the browser lets
  // this document use it, else a memory-backed stand-in. Browsers that block third-party
  // cookies also deny storage to a cross-site iframe: the login then lasts as long as the page.
  var storage = (function () {
    try {
      var key = '__rocketchat_standin__';
      window.localStorage.setItem(key, key);
      window.localStorage.removeItem(key);
      return window.localStorage;
    } catch (error) {
      var items = {};
      return {
        getItem: function (name) { return Object.prototype.hasOwnProperty.call(items, name) ? items[name] : null; },
        setItem: function (name, value) { items[name] = String(value); },
        removeItem: function (name) { delete items[name]; }
      };
    }
  }());

  var state = {
    settings: {},
    user: null,
    loggingIn: false,
    iframeLoginUrl: undefined,
    loginError: '',
    subscriptions: [],
    unread: null,
    unreadSnapshot: {},
    room: null,
    messages: [],
    seen: {},
    ddp: null,
    unstoreCallbacks: []
  };

  function setting(id) {
    return state.settings[id];
  }

  function api(method, endpoint, options) {
    options = options || {};
    var headers = { Accept: 'application/json' };
    if (options.auth === true || (options.auth !== false && state.user)) {
      headers['X-User-Id'] = storage.getItem(USER_ID_KEY) || '';
      headers['X-Auth-Token'] = storage.getItem(LOGIN_TOKEN_KEY) || '';
    }
    var init = { method: method, headers: headers };
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    var query = options.query ? '?' + new URLSearchParams(options.query).toString() : '';
    return fetch('/api/v1/' + endpoint + query, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  // client/lib/utils/fireGlobalEvent.ts and fireGlobalEventBase.ts: a DOM event here, and a
  // postMessage to the parent when Iframe_Integration_send_enable is on, targeted at
  // Iframe_Integration_send_target_origin ('*' unless an administrator narrowed it).
  function fireGlobalEvent(eventName, detail) {
    window.dispatchEvent(new CustomEvent(eventName, { detail: detail }));
    var enabled = setting('Iframe_Integration_send_enable');
    if (enabled === undefined || !enabled) {
      return;
    }
    var targetOrigin = setting('Iframe_Integration_send_target_origin');
    window.parent.postMessage({ eventName: eventName, data: detail }, targetOrigin == null ? '*' : targetOrigin);
  }

  // -- Meteor accounts (packages accounts-base): store, unstore, log in with a resume token ---

  function storeLoginToken(userId, token) {
    storage.setItem(USER_ID_KEY, userId);
    storage.setItem(LOGIN_TOKEN_KEY, token);
    storage.setItem(LOGIN_TOKEN_EXPIRES_KEY, new Date(Date.now() + LOGIN_EXPIRATION_MS).toString());
  }

  // Accounts._unstoreLoginToken; Rocket.Chat hooks its iframe tryLogin onto it
  // (client/views/root/hooks/useIframeLoginListener.ts: unstoreLoginToken(tryLogin)).
  function unstoreLoginToken() {
    storage.removeItem(USER_ID_KEY);
    storage.removeItem(LOGIN_TOKEN_KEY);
    storage.removeItem(LOGIN_TOKEN_EXPIRES_KEY);
    loggedOut();
    state.unstoreCallbacks.forEach(function (callback) { callback(); });
  }

  // Meteor.loginWithToken: the DDP 'login' method with {resume: token} (not a REST call, so
  // Rocket.Chat's REST rate limiter does not count it); on success Meteor stores the token, and
  // the user's own document arrives on the connection ('added' to 'users'). Then
  // synchronizeUserData (client/lib/userData.ts) fetches REST /v1/me; the login stands without it.
  function loginWithToken(token, callback) {
    state.loggingIn = true;
    render();
    state.pendingLogin = ddpLogin(token).then(function (result) {
      state.loggingIn = false;
      var before = state.user && state.user._id;
      storeLoginToken(result.id, result.token);
      loggedIn(state.ddp && state.ddp.users[result.id] ? Object.assign({ _id: result.id }, state.ddp.users[result.id]) : { _id: result.id });
      callback(undefined);
      if (before === result.id) {
        return; // the same user again: synchronizeUserData runs when the user id changes
      }
      api('GET', 'me', { auth: true }).then(function (res) {
        if (res.ok && state.user && state.user._id === res.data._id) {
          state.user = Object.assign({}, state.user, res.data);
          render();
        }
      }, function () {});
    }, function (error) {
      state.loggingIn = false;
      render();
      callback(error);
    });
  }

  // Meteor.loginWithPassword, for the plain login form (REST /api/v1/login {user, password}).
  function loginWithPassword(user, password) {
    api('POST', 'login', { auth: false, body: { user: user, password: password } }).then(function (res) {
      if (!res.ok || !res.data.data) {
        state.loginError = (res.data && res.data.message) || 'Login failed';
        render();
        return;
      }
      state.loginError = '';
      storeLoginToken(res.data.data.userId, res.data.data.authToken);
      loggedIn(res.data.data.me);
    });
  }

  // Meteor.logout: the 'logout' method (sent with wait: true, so after a login still in flight)
  // removes this token on the server (REST /api/v1/logout), then the client forgets it
  // (makeClientLoggedOut -> _unstoreLoginToken), signed in or not.
  function logout() {
    return (state.pendingLogin || Promise.resolve()).then(function () {
      var wasLoggedIn = Boolean(state.user);
      var call = wasLoggedIn ? api('POST', 'logout', { body: {} }) : Promise.resolve();
      return call.then(function () {}, function () {}).then(function () {
        unstoreLoginToken();
        if (wasLoggedIn) {
          fireGlobalEvent('Custom_Script_Logged_Out');
        }
      });
    });
  }

  // -- Flow 1: client/hooks/iframe/useIframe.ts ----------------------------------------------

  function iframeEnabled() {
    return Boolean(
      setting('Accounts_iframe_enabled') &&
      setting('Accounts_iframe_url') &&
      setting('Accounts_Iframe_api_url') &&
      setting('Accounts_Iframe_api_method')
    );
  }

  function setIframeLoginUrl(url) {
    state.iframeLoginUrl = url;
    render();
  }

  // Accounts.callLoginMethod({iframe: true, token}): the server's 'iframe' login handler
  // (app/iframe-login/server) finds no user with services.iframe.token (nothing here sets one),
  // so every handler declines and Meteor answers "Unrecognized options for login request".
  function iframeLogin(token, callback) {
    setTimeout(function () { callback(new Error('Unrecognized options for login request [400]')); }, 0);
  }

  // useIframe.ts loginWithToken: a string is {token}; 'loginToken' is a Meteor resume token;
  // 'token' goes to the iframe handler. Both branches run when both keys are present.
  function iframeLoginWithToken(tokenData, callback) {
    if (typeof tokenData === 'string') {
      tokenData = { token: tokenData };
    }
    if ('loginToken' in tokenData) {
      loginWithToken(tokenData.loginToken, callback);
    }
    if ('token' in tokenData) {
      iframeLogin(tokenData.token, callback);
    }
  }

  // useIframe.ts tryLogin. The fetch sends 'Content-Type: application/json' as the 6.x-7.x
  // hook (client/views/root/MainLayout/useIframeLogin.ts) does, so the browser preflights it:
  // the stricter case for the site (the newest hook sends no header, a simple request).
  function tryLogin(callback) {
    if (!iframeEnabled()) {
      return;
    }
    var url = setting('Accounts_iframe_url');
    var separator = url.indexOf('?') > -1 ? '&' : '?';
    if (navigator.userAgent.indexOf('Electron') > -1) {
      url += separator + 'client=electron';
    }
    fetch(setting('Accounts_Iframe_api_url'), {
      method: setting('Accounts_Iframe_api_method'),
      headers: { 'Content-Type': 'application/json' },
      credentials: 'include'
    }).then(function (result) {
      if (!result.ok || result.status !== 200) {
        setIframeLoginUrl(url);
        if (callback) { callback(new Error(), null); }
        return undefined;
      }
      return result.json().then(function (body) {
        iframeLoginWithToken(body, function (error) {
          setIframeLoginUrl(error ? url : undefined);
          if (callback) { callback(error, body); }
        });
      });
    }).catch(function (error) {
      setIframeLoginUrl(url);
      if (callback) { callback(error instanceof Error ? error : undefined, null); }
    });
  }

  // client/views/root/hooks/useIframeLoginListener.ts: events from the page shown in the
  // iframe (our loading page). No origin check here, as in Rocket.Chat; errors go back to the
  // sender at its own origin.
  function onLoginListenerMessage(e) {
    if (!iframeEnabled()) {
      return;
    }
    if (!(typeof e.data === 'function' || (typeof e.data === 'object' && !!e.data))) {
      return;
    }
    var replyError = function (error) {
      if (error && e.source) {
        e.source.postMessage({ event: 'login-error', response: error.message }, { targetOrigin: e.origin });
      }
    };
    switch (e.data.event) {
      case 'try-iframe-login':
        tryLogin(replyError);
        break;
      case 'login-with-token':
        iframeLoginWithToken(e.data, replyError);
        break;
      default:
        break;
    }
  }

  // -- Flow 2: client/views/root/hooks/useIframeCommands.ts -----------------------------------

  function rtrim(text, chars) { return text.replace(new RegExp('[' + chars + ']+$'), ''); }
  function ltrim(text, chars) { return text.replace(new RegExp('^[' + chars + ']+'), ''); }

  var commands = {
    'go': function (data) {
      if (typeof data.path !== 'string' || data.path.trim().length === 0) {
        console.error('`path` not defined');
        return;
      }
      var newUrl = new URL(rtrim(document.baseURI, '/') + '/' + ltrim(data.path, '/'));
      var search = new URLSearchParams(window.location.search);
      newUrl.searchParams.forEach(function (value, key) { search.set(key, value); });
      navigate(newUrl.pathname, search.toString());
    },
    // AccountBox.setStatus (client/lib/AccountBox.ts): the user's default status.
    'set-user-status': function (data) {
      setStatus(data.status);
    },
    // No OAuth services exist here: loadLoginService finds none.
    'call-custom-oauth-login': function (data, event) {
      var replyToParent = function (response) {
        if (event.source) {
          event.source.postMessage({ event: 'custom-oauth-callback', response: response }, { targetOrigin: event.origin });
        }
      };
      if (typeof data.service !== 'string' || data.service.trim().length === 0) {
        console.error('`service` not defined');
        return;
      }
      replyToParent(new Error('OAuth service not found: ' + data.service));
    },
    'login-with-token': function (data) {
      if (typeof data.token === 'string') {
        loginWithToken(data.token, function () {
          console.log('Iframe command [login-with-token]: result', data);
        });
      }
    },
    'logout': function () {
      logout();
      navigate('/home', '');
    }
  };

  function onCommandMessage(event) {
    if (!setting('Iframe_Integration_receive_enable')) {
      return;
    }
    if (!event.data || typeof event.data !== 'object' || typeof event.data.externalCommand !== 'string') {
      return;
    }
    var origins = setting('Iframe_Integration_receive_origin');
    if (origins == null) {
      origins = '*';
    }
    if (origins !== '*' && origins.split(',').indexOf(event.origin) === -1) {
      console.error('Origin not allowed', event.origin);
      return;
    }
    if (!Object.prototype.hasOwnProperty.call(commands, event.data.externalCommand)) {
      console.error('Command not allowed', event.data.externalCommand);
      return;
    }
    commands[event.data.externalCommand](event.data, event);
  }

  // -- signed in: status, unread counters, rooms -----------------------------------------------

  function setStatus(status) {
    if (STATUSES.indexOf(status) === -1) {
      return;
    }
    api('POST', 'users.setStatus', { body: { status: status } }).then(function (res) {
      if (res.ok && state.user) {
        state.user.status = status;
        render();
      }
    });
  }

  function loggedIn(me) {
    state.user = me;
    state.iframeLoginUrl = undefined;
    state.unread = null;
    state.unreadSnapshot = {};
    if (window.location.pathname === '/' || window.location.pathname === '/login') {
      window.history.replaceState(null, '', '/home' + window.location.search);
    }
    fireGlobalEvent('Custom_Script_Logged_In');
    // The DDP connection makes a signed-in user 'online' (server UserPresence); over REST that
    // is users.setStatus.
    if (me && me.status === 'offline') {
      setStatus('online');
    }
    ddpLogin(storage.getItem(LOGIN_TOKEN_KEY) || '').then(onDdpLoggedIn, function () {
      unstoreLoginToken(); // the token was removed on the server: Meteor's forced logout
    });
    route();
  }

  function loggedOut() {
    state.user = null;
    state.room = null;
    state.messages = [];
    state.subscriptions = [];
    ddpClose();
    render();
  }

  // -- DDP (Meteor's WebSocket): ../ddp.py plays the server side ----------------------------

  // The connection, opened once (Meteor connects at startup) and again after a drop.
  function ddpConnect() {
    if (state.ddp) {
      return state.ddp;
    }
    var scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    var ddp = {
      socket: new WebSocket(scheme + '//' + window.location.host + '/websocket'),
      nextId: 1,
      calls: {},
      subs: {},
      roomSub: null,
      userSub: null,
      users: {}, // the 'users' documents the server published (the logged-in user's own)
      loggedInWith: null,
      retries: 0,
      closed: false
    };
    ddp.ready = new Promise(function (resolve) { ddp.resolveReady = resolve; });
    state.ddp = ddp;
    ddp.socket.onopen = function () {
      ddpSend({ msg: 'connect', version: '1', support: ['1'] });
    };
    ddp.socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      onDdpMessage(ddp, message);
    };
    ddp.socket.onclose = function () {
      Object.keys(ddp.calls).forEach(function (id) { // no answer will come on this connection
        ddp.calls[id].reject(new Error('connection lost'));
      });
      ddp.calls = {};
      if (state.ddp !== ddp || ddp.closed) {
        return;
      }
      // Meteor reconnects by itself, logs in again with the stored token (a token removed on the
      // server fails: the forced logout) and CachedCollection re-syncs (trySync).
      state.ddp = null;
      var retries = (ddp.retries || 0) + 1;
      var wait = Math.min(RETRY_BASE_MS * Math.pow(2.2, retries - 1), RETRY_MAX_MS);
      window.setTimeout(function () {
        if (state.user && !state.ddp) {
          ddpConnect().retries = retries;
        }
      }, wait);
    };
    return ddp;
  }

  // Log the connection in with a resume token (once per connection and token).
  function ddpLogin(token) {
    var ddp = ddpConnect();
    if (ddp.loggedInWith === token) {
      return Promise.resolve({ id: storage.getItem(USER_ID_KEY), token: token });
    }
    return ddp.ready.then(function () {
      return ddpCall('login', [{ resume: token }]);
    }).then(function (result) {
      ddp.loggedInWith = token;
      return result;
    });
  }

  function ddpClose() {
    if (state.ddp) {
      state.ddp.closed = true;
      state.ddp.socket.close();
      state.ddp = null;
    }
  }

  function ddpSend(message) {
    if (state.ddp && state.ddp.socket.readyState === WebSocket.OPEN) {
      state.ddp.socket.send(JSON.stringify(message));
    }
  }

  // Meteor.call / sdk.call: a method, its result by id.
  function ddpCall(method, params) {
    var ddp = state.ddp;
    if (!ddp) {
      return Promise.reject(new Error('not connected'));
    }
    var id = String(ddp.nextId++);
    return new Promise(function (resolve, reject) {
      ddp.calls[id] = { resolve: resolve, reject: reject };
      ddpSend({ msg: 'method', method: method, params: params, id: id });
    });
  }

  // sdk.stream(name, [eventName], callback)
  function ddpSubscribe(name, eventName, callback) {
    var ddp = state.ddp;
    if (!ddp) {
      return null;
    }
    var id = String(ddp.nextId++);
    ddp.subs[id] = { name: name, eventName: eventName, callback: callback };
    ddpSend({ msg: 'sub', id: id, name: name, params: [eventName, false] });
    return id;
  }

  function ddpUnsubscribe(id) {
    if (state.ddp && id && state.ddp.subs[id]) {
      delete state.ddp.subs[id];
      ddpSend({ msg: 'unsub', id: id });
    }
  }

  function onDdpMessage(ddp, message) {
    if (message.msg === 'connected') {
      ddp.retries = 0;
      ddp.resolveReady();
      if (state.user) { // a reconnection: Meteor logs in again with the stored token
        ddpLogin(storage.getItem(LOGIN_TOKEN_KEY) || '').then(onDdpLoggedIn, function () {
          unstoreLoginToken(); // the token was removed on the server: Meteor's forced logout
        });
      }
    } else if ((message.msg === 'added' || message.msg === 'changed') && message.collection === 'users') {
      ddp.users[message.id] = Object.assign({}, ddp.users[message.id], message.fields);
    } else if (message.msg === 'ping') {
      ddpSend(message.id ? { msg: 'pong', id: message.id } : { msg: 'pong' });
    } else if (message.msg === 'result' && ddp.calls[message.id]) {
      var call = ddp.calls[message.id];
      delete ddp.calls[message.id];
      if (message.error) {
        call.reject(new Error(message.error.message || message.error.reason || 'error'));
      } else {
        call.resolve(message.result);
      }
    } else if (message.msg === 'changed' && message.fields) {
      Object.keys(ddp.subs).forEach(function (id) {
        var sub = ddp.subs[id];
        if (sub.name === message.collection && sub.eventName === message.fields.eventName) {
          sub.callback.apply(null, message.fields.args || []);
        }
      });
    }
  }

  // CachedCollection.init for 'subscriptions': load with subscriptions/get, then listen to
  // <uid>/subscriptions-changed; the open room's messages come on stream-room-messages.
  function onDdpLoggedIn() {
    if (!state.user || !state.ddp) {
      return;
    }
    var uid = state.user._id || storage.getItem(USER_ID_KEY);
    ddpUnsubscribe(state.ddp && state.ddp.userSub);
    state.ddp.userSub = ddpSubscribe('stream-notify-user', uid + '/subscriptions-changed', onSubscriptionChanged);
    ddpCall('subscriptions/get', []).then(function (subscriptions) {
      if (!state.user) {
        return;
      }
      state.subscriptions = subscriptions || [];
      updateUnread(state.subscriptions);
      render();
      if (!state.room && /^\/(channel|group|direct)\//.test(currentPath())) {
        route(); // a room named by the path waits for the subscriptions (a DM by name)
      }
    }, function () {});
    if (state.room && state.room._id) {
      listenToRoom(state.room);
      loadMessages(state.room);
    }
  }

  function onSubscriptionChanged(action, record) {
    if (!state.user || !record) {
      return;
    }
    var rest = state.subscriptions.filter(function (s) { return s._id !== record._id; });
    state.subscriptions = action === 'removed' ? rest : rest.concat([record]);
    updateUnread(state.subscriptions);
    render();
  }

  // client/views/root/hooks/loggedIn/useUnread.ts: the total over open, visible subscriptions,
  // 'unread-changed-by-subscription' for each subscription whose counters moved. Rocket.Chat
  // fires 'unread-changed' on every change of the subscriptions; this one on every change of
  // the total (and once after login).
  function updateUnread(subscriptions) {
    var unreadCount = 0;
    var next = {};
    subscriptions.forEach(function (subscription) {
      if (subscription.open === false || subscription.hideUnreadStatus === true || subscription.archived === true) {
        return;
      }
      var prev = state.unreadSnapshot[subscription.rid];
      if (!prev || prev.unread !== subscription.unread || prev.alert !== subscription.alert || prev.unreadAlert !== subscription.unreadAlert) {
        fireGlobalEvent('unread-changed-by-subscription', subscription);
      }
      next[subscription.rid] = { unread: subscription.unread, alert: subscription.alert, unreadAlert: subscription.unreadAlert };
      if (subscription.alert || subscription.unread > 0) {
        unreadCount += subscription.unread;
      }
    });
    state.unreadSnapshot = next;
    if (unreadCount !== state.unread) {
      state.unread = unreadCount;
      fireGlobalEvent('unread-changed', unreadCount);
    }
  }

  function currentPath() {
    return window.location.pathname;
  }

  function navigate(pathname, search) {
    window.history.pushState(null, '', pathname + (search ? '?' + search : ''));
    route();
  }

  // client/startup/routes.tsx: /home, /channel/:name, /group/:name, /direct/:rid.
  function route() {
    var match = /^\/(channel|group|direct)\/([^/]+)/.exec(currentPath());
    if (!state.user || !match) {
      state.room = null;
      state.messages = [];
      render();
      return;
    }
    var key = decodeURIComponent(match[2]);
    var query = match[1] === 'direct' ? { roomId: key } : { roomName: key };
    var direct = state.subscriptions.filter(function (s) { return s.t === 'd' && s.name === key; })[0];
    if (direct) {
      query = { roomId: direct.rid };
    }
    api('GET', 'rooms.info', { query: query }).then(function (res) {
      if (!res.ok) {
        state.room = { _id: null, name: key, missing: true };
        render();
        return;
      }
      openRoom(res.data.room);
    });
  }

  // RoomProvider/RoomManager: 'room-opened' with the room minus 'usernames', then read it
  // (client/lib/readMessages via subscriptions.read).
  function openRoom(room) {
    var opened = Object.assign({}, room);
    delete opened.usernames;
    delete opened.success;
    state.room = opened;
    state.messages = [];
    state.seen = {};
    render();
    fireGlobalEvent('room-opened', opened);
    listenToRoom(opened);
    loadMessages(opened);
  }

  // RoomManager: the open room's stream-room-messages; one room at a time here.
  function listenToRoom(room) {
    if (!state.ddp) {
      return;
    }
    ddpUnsubscribe(state.ddp.roomSub);
    state.ddp.roomSub = ddpSubscribe('stream-room-messages', room._id, function (message) {
      onRoomMessage(room, message);
    });
  }

  function roomName(room) {
    var subscription = state.subscriptions.filter(function (s) { return s.rid === room._id; })[0];
    return room.name || room.fname || (subscription && subscription.name) || '';
  }

  // RoomHistoryManager.getMore: the loadHistory method (rid, ts, limit, ls), newest first;
  // then the room is read (ReadStateManager.markAsRead: REST subscriptions.read).
  function loadMessages(room) {
    if (!room || !room._id || !state.ddp) {
      return;
    }
    ddpCall('loadHistory', [room._id, null, HISTORY_LIMIT, null]).then(function (result) {
      if (!state.room || state.room._id !== room._id) {
        return;
      }
      var messages = ((result && result.messages) || []).slice().reverse();
      var fresh = messages.filter(function (m) { return !state.seen[m._id]; });
      messages.forEach(function (m) { state.seen[m._id] = true; });
      state.messages = messages;
      if (fresh.length) {
        markAsRead(room);
      }
      render();
    }, function () {});
  }

  // app/ui-utils/client/lib/LegacyRoomManager.ts: 'new-message' for every message that arrives
  // in an opened room, with the room's name and {type, name}.
  function onRoomMessage(room, message) {
    if (!state.room || state.room._id !== room._id || !message || state.seen[message._id]) {
      return;
    }
    state.seen[message._id] = true;
    state.messages = state.messages.concat([message]);
    fireGlobalEvent('new-message', Object.assign({}, message, {
      name: roomName(room),
      room: { type: room.t, name: roomName(room) }
    }));
    markAsRead(room);
    render();
  }

  function markAsRead(room) {
    if (document.visibilityState === 'visible') {
      api('POST', 'subscriptions.read', { body: { rid: room._id } });
    }
  }

  // client/lib/chats/flows/sendMessage.ts: the sendMessage method; the message comes back on
  // the room's stream like anyone else's.
  function sendMessage(text) {
    if (!state.room || !state.room._id || !text.trim()) {
      return;
    }
    ddpCall('sendMessage', [{ rid: state.room._id, msg: text }]).then(function () {}, function () {});
  }

  // -- rendering (client/views/root/MainLayout/LoginPage.tsx and the signed-in layout) ----------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') {
        node.textContent = attrs[name];
      } else if (name.slice(0, 2) === 'on') {
        node.addEventListener(name.slice(2), attrs[name]);
      } else if (attrs[name] !== null && attrs[name] !== undefined && attrs[name] !== false) {
        node.setAttribute(name, attrs[name] === true ? '' : attrs[name]);
      }
    });
    (children || []).forEach(function (child) {
      if (child) { node.appendChild(child); }
    });
    return node;
  }

  function embedded() {
    return new URLSearchParams(window.location.search).get('layout') === 'embedded';
  }

  function renderLoggedOut() {
    if (state.iframeLoginUrl) {
      document.body.dataset.state = 'iframe-login';
      return el('iframe', { id: 'rc-login-iframe', title: 'Login', src: state.iframeLoginUrl, 'class': 'rc-login-iframe' });
    }
    if (state.loggingIn) { // Meteor.loggingIn(): the page loader, not the form
      document.body.dataset.state = 'logging-in';
      return el('p', { 'class': 'rc-loading', text: 'Loading…' });
    }
    document.body.dataset.state = 'logged-out';
    var username = el('input', { id: 'rc-username-input', name: 'username', autocomplete: 'username', required: true });
    var password = el('input', { id: 'rc-password-input', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    var form = el('form', {
      id: 'rc-login-form',
      'class': 'rc-card',
      onsubmit: function (event) {
        event.preventDefault();
        loginWithPassword(username.value, password.value);
      }
    }, [
      el('h1', { text: 'Login', id: 'rc-login-title' }),
      el('label', { text: 'Username', 'for': 'rc-username-input' }), username,
      el('label', { text: 'Password', 'for': 'rc-password-input' }), password,
      state.loginError ? el('p', { 'class': 'rc-error', role: 'alert', text: state.loginError }) : null,
      el('button', { type: 'submit', text: 'Login' })
    ]);
    return el('main', { 'class': 'rc-center' }, [form]);
  }

  function renderSidebar() {
    var user = state.user;
    var status = el('select', {
      id: 'rc-status',
      'aria-label': 'Status',
      onchange: function (event) { setStatus(event.target.value); }
    }, STATUSES.map(function (s) {
      return el('option', { value: s, text: s, selected: (user.status || 'online') === s });
    }));
    var rooms = state.subscriptions.map(function (s) {
      var href = ({ d: '/direct/', p: '/group/' }[s.t] || '/channel/') + encodeURIComponent(s.t === 'd' ? s.rid : s.name);
      var active = state.room && state.room._id === s.rid;
      return el('li', {}, [
        el('a', {
          href: href,
          'data-rid': s.rid,
          'class': 'rc-room-link' + (active ? ' rc-active' : '') + (s.alert ? ' rc-alert' : ''),
          onclick: function (event) { event.preventDefault(); navigate(href, new URLSearchParams(window.location.search).toString()); }
        }, [
          el('span', { text: (s.t === 'd' ? '@' : '#') + (s.fname || s.name) }),
          s.unread > 0 ? el('span', { 'class': 'rc-unread', text: String(s.unread) }) : null
        ])
      ]);
    });
    return el('nav', { 'class': 'rc-sidebar', 'aria-label': 'Rooms' }, [
      el('div', { 'class': 'rc-me' }, [
        el('span', { 'class': 'rc-avatar', 'aria-hidden': 'true', text: (user.username || '?').charAt(0).toUpperCase() }),
        el('div', {}, [
          el('strong', { id: 'rc-user', 'data-username': user.username, text: user.username }),
          el('div', { 'class': 'rc-name', text: user.name || '' })
        ])
      ]),
      status,
      el('a', {
        href: '/home',
        'class': 'rc-room-link' + (state.room ? '' : ' rc-active'),
        onclick: function (event) { event.preventDefault(); navigate('/home', new URLSearchParams(window.location.search).toString()); }
      }, [el('span', { text: 'Home' })]),
      el('ul', { id: 'rc-rooms', 'class': 'rc-rooms' }, rooms),
      el('button', { id: 'rc-logout', type: 'button', 'class': 'rc-logout', text: 'Log out', onclick: function () { logout(); } })
    ]);
  }

  function renderRoom() {
    var room = state.room;
    if (!room) {
      return el('main', { id: 'rc-home', 'class': 'rc-main' }, [
        el('h1', { text: 'Home' }),
        el('p', { text: 'Welcome, ' + (state.user.name || state.user.username) + '. Pick a room on the left.' }),
        el('p', { 'class': 'rc-muted', text: 'Rocket.Chat stand-in: a subset of its REST API and DDP, and the iframe integration; nothing more.' })
      ]);
    }
    if (room.missing) {
      return el('main', { 'class': 'rc-main' }, [el('h1', { text: 'Room not found: ' + room.name })]);
    }
    var input = el('input', { id: 'rc-composer-input', 'aria-label': 'Message', placeholder: 'Message', autocomplete: 'off' });
    return el('main', { id: 'rc-room', 'class': 'rc-main', 'data-rid': room._id }, [
      el('h1', { id: 'rc-room-title', text: (room.t === 'd' ? '@' : '#') + roomName(room) }),
      el('ol', { id: 'rc-messages', 'class': 'rc-messages' }, state.messages.map(function (m) {
        return el('li', { 'data-id': m._id }, [
          el('strong', { text: m.u.username }),
          el('span', { text: ' ' + m.msg })
        ]);
      })),
      el('form', {
        id: 'rc-composer',
        'class': 'rc-composer',
        onsubmit: function (event) {
          event.preventDefault();
          sendMessage(input.value);
          input.value = '';
        }
      }, [input, el('button', { type: 'submit', text: 'Send' })])
    ]);
  }

  function render() {
    var root = document.getElementById('react-root');
    if (!root || !state.ready) {
      return;
    }
    var focused = document.activeElement && document.activeElement.id;
    var view;
    if (state.user) {
      document.body.dataset.state = 'logged-in';
      view = el('div', { 'class': 'rc-layout' + (embedded() ? ' rc-embedded' : '') }, [
        embedded() ? null : renderSidebar(),
        renderRoom()
      ]);
    } else {
      view = renderLoggedOut();
    }
    // Keep a half-typed message or password across re-renders.
    var kept = {};
    root.querySelectorAll('input').forEach(function (input) { kept[input.id] = input.value; });
    var current = root.querySelector('#rc-login-iframe');
    if (current && view.id === 'rc-login-iframe' && current.getAttribute('src') === view.getAttribute('src')) {
      return; // React keeps the same iframe element: do not reload the loading page
    }
    root.replaceChildren(view);
    root.querySelectorAll('input').forEach(function (input) {
      if (kept[input.id]) { input.value = kept[input.id]; }
    });
    if (focused) {
      var again = document.getElementById(focused);
      if (again) { again.focus(); }
    }
  }

  // -- startup -------------------------------------------------------------------------------

  // The public settings: CachedCollection 'public-settings' loads them with the DDP method
  // 'public-settings/get' on the connection Meteor opens at startup.
  function start() {
    var connection = ddpConnect();
    connection.ready.then(function () {
      return ddpCall('public-settings/get', []);
    }).then(function (settings) {
      (settings || []).forEach(function (s) {
        if (PUBLIC_SETTINGS.indexOf(s._id) > -1) { state.settings[s._id] = s.value; }
      });
      state.ready = true;
      window.addEventListener('message', onCommandMessage);
      window.addEventListener('message', onLoginListenerMessage);
      window.addEventListener('popstate', route);
      state.unstoreCallbacks.push(function () { tryLogin(); });
      // client/views/root/hooks/useStartupEvent.ts
      fireGlobalEvent('startup', true);
      // Meteor's auto-login from localStorage (accounts-base: _initLocalStorage) ...
      var token = storage.getItem(LOGIN_TOKEN_KEY);
      var expires = Date.parse(storage.getItem(LOGIN_TOKEN_EXPIRES_KEY) || '');
      if (token && !(expires < Date.now())) {
        loginWithToken(token, function (error) {
          if (error) { unstoreLoginToken(); }
        });
      } else if (token) {
        unstoreLoginToken();
      }
      // ... and, signed in or not, the iframe login: AppLayout (client/views/root/AppLayout.tsx)
      // mounts useIframeLoginListener, whose first effect runs tryLogin() whenever iframe login
      // is enabled, without looking at the user (client/views/root/hooks/
      // useIframeLoginListener.ts, read at commits b586939 and 46a90ce; 6.x-7.x:
      // MainLayout/useIframeLogin.ts, the same effect). So the token endpoint is called on every
      // load of the web client; a token it answers replaces the stored one
      // (Meteor.loginWithToken); a failure while signed in shows nothing (only LoginPage, for a
      // signed-out user, renders the loading page).
      if (!token || !(expires < Date.now())) {
        tryLogin(); // (an expired token's unstore above already ran tryLogin)
      }
      render();
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
