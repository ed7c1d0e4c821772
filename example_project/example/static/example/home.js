/* The example's unread badge, fed by Rocket.Chat's 'unread-changed' event through
   rocketchat-sso.js (loaded before this file by {% rocketchat_iframe %}). */
(function () {
  'use strict';
  var badge = document.getElementById('unread-badge');
  if (!badge || !window.RocketChatSSO) {
    return;
  }
  var title = document.title;
  window.RocketChatSSO.on('unread-changed', function (count) {
    // Recent releases send a number; older ones '', '•' (alerts only) or '999+'.
    var text = count === 0 || count === '' || count == null ? '' : String(count);
    badge.textContent = text;
    badge.hidden = text === '';
    document.title = text ? '(' + text + ') ' + title : title;
  });
}());
