/**
 * Kommo Live Bridge widget. While a Kommo user has a chat open it tells the bridge (and through it
 * the chat service) that the user is in that chat, that the chat was read, and it shows whether the
 * chat's client is online. Every call goes through `self.$authorizedAjax`, which adds Kommo's
 * one-time token (X-Auth-Token) that the bridge verifies.
 */
define(['jquery'], function ($) {
  // The bridge keeps a user online for 90 s after a heartbeat: one every 30 s survives a lost one.
  var HEARTBEAT_MS = 30 * 1000;
  // Kommo has no event for "a chat was opened" (no widget location for the chat inbox), so the page is looked at.
  var WATCH_MS = 2 * 1000;

  /**
   * The open chat, as the chat service knows it: `{ conversationId, clientId }`, or null when no chat
   * is open. ADAPT THIS to your account: Kommo's pages show Kommo's own chat id, not the ids of your
   * chat service. This version reads them from data attributes of the open chat's element, which
   * your integration has to provide (for instance from a lead field, or a lookup by Kommo's chat id).
   */
  function findOpenChat() {
    var chat = document.querySelector('[data-klb-conversation-id]');
    if (!chat) return null;
    return {
      conversationId: chat.getAttribute('data-klb-conversation-id'),
      clientId: chat.getAttribute('data-klb-client-id'),
    };
  }

  return function () {
    var self = this;
    var open = null; // the chat the user is in: { conversationId, clientId }
    var timers = [];
    var badge = null;

    function bridge(method, path, body) {
      var base = String(self.get_settings().bridge_url || '').replace(/\/+$/, '');
      return self.$authorizedAjax({
        url: base + path,
        method: method,
        dataType: 'json',
        contentType: body ? 'application/json' : undefined,
        data: body ? JSON.stringify(body) : undefined,
      });
    }

    function report(conversationId, state) {
      return bridge('POST', '/widget/presence', { conversation_id: conversationId, state: state });
    }

    function showClientPresence() {
      if (!open || !open.clientId) return;
      bridge('GET', '/widget/clients/' + encodeURIComponent(open.clientId) + '/presence').then(function (presence) {
        var words = self.i18n('presence');
        badge = badge || $('<div class="klb-presence"></div>').css({ position: 'fixed', right: 16, bottom: 16, padding: '4px 10px', borderRadius: 12, background: '#fff', boxShadow: '0 1px 4px rgba(0,0,0,.2)', zIndex: 1000 }).appendTo('body');
        var text = presence.online ? words.online : presence.last_seen_at ? words.last_seen + ' ' + new Date(presence.last_seen_at).toLocaleString() : words.offline;
        badge.text(text).css('color', presence.online ? '#2e7d32' : '#757575');
      });
    }

    /** The chat on the page changed: leave the old one, enter (and read) the new one. */
    function follow() {
      var now = findOpenChat();
      if ((now && now.conversationId) === (open && open.conversationId)) return;
      if (open) report(open.conversationId, 'offline');
      open = now;
      if (badge) badge.text('');
      if (!open) return;
      report(open.conversationId, 'online');
      bridge('POST', '/widget/conversations/' + encodeURIComponent(open.conversationId) + '/read');
      showClientPresence();
    }

    function heartbeat() {
      // A chat in a background tab is not being looked at: no heartbeat, and the bridge lets the user go offline.
      if (!open || document.visibilityState !== 'visible') return;
      report(open.conversationId, 'online');
      showClientPresence();
    }

    function start() {
      if (timers.length > 0) return;
      timers.push(setInterval(follow, WATCH_MS), setInterval(heartbeat, HEARTBEAT_MS));
      follow();
    }

    function stop() {
      timers.forEach(clearInterval);
      timers = [];
      if (open) report(open.conversationId, 'offline');
      open = null;
      if (badge) badge.remove();
      badge = null;
    }

    this.callbacks = {
      render: function () {
        return true;
      },
      init: function () {
        return true;
      },
      bind_actions: function () {
        start();
        return true;
      },
      settings: function () {
        return true;
      },
      onSave: function () {
        return true;
      },
      destroy: function () {
        stop();
      },
    };
    return this;
  };
});
