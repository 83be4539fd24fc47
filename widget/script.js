/**
 * Kommo Live Bridge widget.
 *
 * In a lead or contact card it finds the card's chats through the account's own CRM API, asks the
 * bridge which of them belong to this channel, and then, while the card is open in a visible tab:
 * - shows in the card's right column whether the chat's client is online, live from the bridge's
 *   WebSocket (the watch of a chat is also what tells the chat service that this Kommo user is in it);
 * - marks the chat read (POST /widget/chats/{id}/read) when it is opened, and again when a client
 *   message arrives while it stays open.
 * Every bridge call goes through `self.$authorizedAjax`, which adds Kommo's one-time token.
 *
 * Kommo loads this file as it is, so it is written in ES5 syntax (no let/const, arrows or templates).
 */
define(['jquery'], function ($) {
  'use strict';

  // The bridge's deployment chooses how often the live socket pings (`ping_seconds` of its live ticket) and
  // keeps the Kommo user's presence for its window; a bridge that does not say gets a ping every 30 s.
  var PING_MS = 30 * 1000;
  var PING_SECONDS_RANGE = [10, 300];
  // Without the live channel the widget falls back to heartbeats, which the bridge keeps for 90 s.
  var HEARTBEAT_MS = 30 * 1000;
  // The read mark (the fallback when no talk event says a client wrote): one read per 30 s at most.
  var READ_EVERY_MS = 30 * 1000;
  // A client message seen in Kommo's talk events is read this long after it arrives (within the 3 s
  // the issue asks), so that a burst of messages costs one read.
  var READ_AFTER_MESSAGE_MS = 2 * 1000;
  // Reads that something happened (the chat opened, the tab shown, a talk event) come at most this often.
  var READ_AGAIN_MS = 2 * 1000;
  // Retries after the bridge (or the CRM API) failed: 1 s, 2 s, 4 s … up to 1 min, with jitter.
  var RETRY_MIN_MS = 1000;
  var RETRY_MAX_MS = 60 * 1000;
  // A watch the bridge has not confirmed (its client.presence frame) this long after it was sent is sent again:
  // 10 s, then 30 s, 90 s, then every 5 min. The bridge answers a refused frame with an error that names no chat,
  // so one refused for good (another channel's chat) is told apart only by the error's code.
  var WATCH_CONFIRM_MS = [10 * 1000, 30 * 1000, 90 * 1000, 5 * 60 * 1000];
  // The one refusal the bridge asks to be sent again (a DynamoDB throttle, a failed request behind the frame).
  var TRANSIENT_REFUSALS = ['internal_error'];
  // The CRM API allows 7 requests per second per account: a lead's chats are looked up for a few contacts only,
  // and a card's chats are asked about (one bridge request each) up to a bound the live channel also keeps (20 watches).
  /** The chats inbox opens a talk at `/chats/{talk_id}/leads/detail/{lead_id}` (docs/kommo.md: observed). */
  var INBOX_TALK = /\/chats\/(\d+)(?:\/|$)/;
  var MAX_CHATS = 10;
  var REQUEST_TIMEOUT_MS = 15 * 1000;

  // Kommo's own front-end reads `body.payload.{type, model}` on `inbox:talks`; these codes are not
  // documented, so they only make a read come sooner: the periodic read mark stays as the fallback.
  var TALK_EVENT_CREATE = 119;
  var TALK_EVENT_UPDATES = [127, 128, 134];
  var TALK_EVENT_UNREAD = 126;
  var TALK_EVENT_KNOWN = [119, 120, 125, 126, 127, 128, 134];

  /**
   * The bridge's base URL from the widget's settings, or null when it is not one: https (API Gateway),
   * or plain http only on the loopback interface (the local sandbox). Never a Kommo account host, so
   * a wrong setting cannot send requests to Kommo's own origin.
   */
  function bridgeBaseUrl(value) {
    if (typeof value !== 'string') return null;
    var text = value.replace(/^\s+|\s+$/g, '');
    if (!text) return null;
    var url;
    try {
      url = new URL(text);
    } catch (_error) {
      return null;
    }
    if (url.username || url.password || url.search || url.hash) return null;
    var host = url.hostname.toLowerCase();
    var loopback = host === '127.0.0.1' || host === 'localhost';
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) return null;
    if (/(^|\.)(kommo\.com|amocrm\.ru|amocrm\.com)$/.test(host)) return null;
    return url.origin + url.pathname.replace(/\/+$/, '');
  }

  function contains(list, value) {
    for (var i = 0; i < list.length; i += 1) if (list[i] === value) return true;
    return false;
  }

  function keys(object) {
    var names = [];
    for (var name in object) if (Object.prototype.hasOwnProperty.call(object, name)) names.push(name);
    return names;
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function retryDelay(attempt) {
    var ceiling = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * Math.pow(2, attempt));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  /** An HTTP status from a jqXHR (0 when the request never got an answer). */
  function statusOf(xhr) {
    return xhr && typeof xhr.status === 'number' ? xhr.status : 0;
  }

  /**
   * Runs a jQuery ajax call (`$.ajax` or `self.$authorizedAjax`) and calls back once:
   * `done(body)` for a 2xx answer, `failed(status, errorCode)` otherwise (the contract's `error.code`). Only `.then(ok, fail)` is used, which
   * every jQuery since 1.8 offers on jqXHR.
   */
  function ajax(run, options, done, failed) {
    var settled = false;
    function once(callback, value) {
      if (settled) return;
      settled = true;
      callback(value);
    }
    var request;
    try {
      request = run(options);
    } catch (_error) {
      once(failed, 0);
      return;
    }
    request.then(
      function (body) {
        once(done, body);
      },
      function (xhr) {
        var status = statusOf(xhr);
        // An empty 2xx answer fails JSON parsing in jQuery, but it is still a success.
        if (status >= 200 && status < 300) return once(done, undefined);
        if (settled) return;
        settled = true;
        var answer = xhr && xhr.responseJSON;
        failed(status, answer && answer.error && typeof answer.error.code === 'string' ? answer.error.code : undefined);
      }
    );
  }

  return function () {
    var self = this;

    var state = {
      base: null, // the bridge's base URL, null while the setting is missing or invalid
      card: null, // { entity: 'leads' | 'contacts', id } of the open card
      generation: 0, // bumped on every page change; answers for an older page are dropped
      chats: {}, // Kommo chat id → { confirmed, presence, presenceKnown, label }: the open chat's candidates; confirmed = this channel's
      discoveryAttempt: 0,
      discoveryTimer: null,
      readTimers: {}, // chat id → timer of the next read
      lastReadAt: {}, // chat id → when this tab last sent a read
      problem: null, // 'not_connected' (403) or 'unreachable' while the bridge refuses or does not answer
      unlistenTalks: null,
      readMarkTimer: null
    };

    var live = {
      socket: null,
      connecting: false,
      unavailable: false, // the bridge has no live channel: heartbeats instead
      attempt: 0,
      retryTimer: null,
      pingTimer: null,
      watched: {}, // chat id → true once the watch frame is sent on this socket
      unconfirmed: {}, // chat id → { timer, attempt, transient, refused } while this socket's watch awaits its client.presence
      heartbeatTimer: null
    };

    function account() {
      return APP.constant('account') || {};
    }

    function userAmojoId() {
      var user = APP.constant('user') || {};
      return typeof user.amojo_id === 'string' && user.amojo_id ? user.amojo_id : undefined;
    }

    function words(key) {
      var value = self.i18n(key);
      return value && typeof value === 'object' ? value : {};
    }

    function visible() {
      return document.visibilityState === 'visible';
    }

    function chatIds() {
      return keys(state.chats);
    }

    // ---- the bridge -------------------------------------------------------------------------------

    function bridge(method, path, body, done, failed) {
      if (!state.base) return failed(0);
      ajax(
        function (options) {
          return self.$authorizedAjax(options);
        },
        {
          url: state.base + path,
          type: method,
          method: method,
          dataType: 'json',
          contentType: body === undefined ? undefined : 'application/json',
          data: body === undefined ? undefined : JSON.stringify(body),
          timeout: REQUEST_TIMEOUT_MS
        },
        done,
        failed
      );
    }

    function chatPath(chatId, suffix) {
      return '/widget/chats/' + encodeURIComponent(chatId) + (suffix || '');
    }

    // ---- the account's CRM API (same origin, the user's session) ----------------------------------

    function crm(path, done, failed) {
      ajax(
        function (options) {
          return $.ajax(options);
        },
        { url: path, type: 'GET', method: 'GET', dataType: 'json', timeout: REQUEST_TIMEOUT_MS },
        done,
        failed
      );
    }

    /**
     * The chat the user has open, as a place: a talk of the chats inbox (its address is
     * `/chats/{talk_id}/...`: docs/kommo.md, observed, not documented as an API), or a saved lead or
     * contact card (`APP.data.current_card.id` is 0 for a new one). The address is checked first:
     * whether `APP.isCard()` is true in the inbox is not documented.
     */
    function openCard() {
      var talk = INBOX_TALK.exec((window.location && window.location.pathname) || '');
      if (talk) return { entity: 'talks', id: Number(talk[1]) };
      if (typeof APP.isCard !== 'function' || !APP.isCard()) return null;
      var entity = APP.getBaseEntity();
      var card = APP.data && APP.data.current_card;
      var id = card && Number(card.id);
      if ((entity !== 'leads' && entity !== 'contacts') || !id) return null;
      return { entity: entity, id: id };
    }

    /** Adds a talk's chat when it is a string id; `label` names the chat by its source. */
    function addChat(found, talk) {
      var id = talk && talk.chat_id;
      if (typeof id !== 'string' || !id || found.ids.length >= MAX_CHATS || contains(found.ids, id)) return;
      found.ids.push(id);
      if (talk.origin && typeof talk.origin === 'string') found.labels[id] = talk.origin;
    }

    /** The inbox talk in the address: `GET /api/v4/talks/{id}` names its chat. */
    function chatsOfTalk(talkId, done, failed) {
      crm(
        '/api/v4/talks/' + encodeURIComponent(talkId),
        function (talk) {
          var found = { ids: [], labels: {} };
          if (talk && Number(talk.talk_id) === talkId) addChat(found, talk);
          done(found);
        },
        failed
      );
    }

    /**
     * A lead card: that lead's talks only, never another lead's chat of the same contact. The talks
     * list is asked with its entity filters, and each talk's `entity_type`/`entity_id` is checked
     * here too, whatever the filter did: a filter Kommo ignored finds nothing, never a wrong chat.
     */
    function chatsOfLead(leadId, done, failed) {
      crm(
        '/api/v4/talks?filter[entity_type]=lead&filter[entity_id]=' +
          encodeURIComponent(leadId) +
          '&limit=' +
          MAX_CHATS,
        function (body) {
          // 204 (no talks) comes without a body.
          var talks = (body && body._embedded && body._embedded.talks) || [];
          var found = { ids: [], labels: {} };
          for (var i = 0; i < talks.length; i += 1) {
            var talk = talks[i];
            if (talk && talk.entity_type === 'lead' && Number(talk.entity_id) === leadId) addChat(found, talk);
          }
          done(found);
        },
        failed
      );
    }

    /**
     * A contact card: its chats only where Kommo shows them there, which it does not when the
     * contact has leads (their chats are in the leads' cards). `contact_id` in its documented
     * single form.
     */
    function chatsOfContact(contactId, done, failed) {
      crm(
        '/api/v4/contacts/' + encodeURIComponent(contactId) + '?with=leads',
        function (contact) {
          var leads = (contact && contact._embedded && contact._embedded.leads) || [];
          if (leads.length > 0) return done({ ids: [], labels: {} });
          crm(
            '/api/v4/contacts/chats?contact_id=' + encodeURIComponent(contactId),
            function (body) {
              var chats = (body && body._embedded && body._embedded.chats) || [];
              var found = { ids: [], labels: {} };
              for (var j = 0; j < chats.length; j += 1) {
                if (chats[j] && Number(chats[j].contact_id) === contactId) addChat(found, chats[j]);
              }
              done(found);
            },
            failed
          );
        },
        failed
      );
    }

    function chatIdsOfCard(card, done, failed) {
      if (card.entity === 'talks') return chatsOfTalk(card.id, done, failed);
      if (card.entity === 'contacts') return chatsOfContact(card.id, done, failed);
      return chatsOfLead(card.id, done, failed);
    }

    // ---- following the page -----------------------------------------------------------------------

    function sameCard(a, b) {
      return (!a && !b) || (!!a && !!b && a.entity === b.entity && a.id === b.id);
    }

    /** Kommo changed the page: leave the chats of the card that is gone, find those of the new one. */
    function follow() {
      var card = openCard();
      if (!sameCard(card, state.card)) {
        leaveChats();
        state.card = card;
        state.generation += 1;
        state.discoveryAttempt = 0;
        if (card) discover(state.generation);
      }
      renderPanel();
    }

    function discover(generation) {
      clearTimeout(state.discoveryTimer);
      state.discoveryTimer = null;
      if (!state.base || generation !== state.generation) return;
      var retry = function () {
        if (generation !== state.generation) return;
        state.discoveryTimer = setTimeout(function () {
          discover(generation);
        }, retryDelay(state.discoveryAttempt));
        state.discoveryAttempt += 1;
      };
      chatIdsOfCard(
        state.card,
        function (found) {
          if (generation !== state.generation) return;
          state.discoveryAttempt = 0;
          enterChats(found);
        },
        retry
      );
    }

    /**
     * The open chat's candidates (Kommo's talks, checked by entity) are watched on the live channel
     * without asking the bridge about each first: the watch's `client.presence` frame (or a heartbeat's
     * answer) is what says a chat is this channel's, and only then is it marked and read. A chat of
     * another channel is refused by the bridge and nothing is recorded for it.
     */
    function enterChats(found) {
      var chats = {};
      for (var i = 0; i < found.ids.length; i += 1)
        chats[found.ids[i]] = {
          confirmed: false,
          presence: null,
          presenceKnown: false,
          label: found.labels[found.ids[i]] || ''
        };
      state.chats = chats;
      renderPanel();
      if (found.ids.length === 0) return;
      connect();
    }

    /** The bridge said this chat is the channel's: from now on it is marked and read. */
    function confirmChat(chatId, clientId) {
      var chat = state.chats[chatId];
      if (!chat || chat.confirmed) return;
      chat.confirmed = true;
      if (!chat.label && typeof clientId === 'string') chat.label = clientId;
      requestRead(chatId, 0, READ_AGAIN_MS);
    }

    function confirmedIds() {
      var ids = chatIds();
      var confirmed = [];
      for (var i = 0; i < ids.length; i += 1) if (state.chats[ids[i]].confirmed) confirmed.push(ids[i]);
      return confirmed;
    }

    function leaveChats() {
      var ids = chatIds();
      for (var i = 0; i < ids.length; i += 1)
        if (state.readTimers[ids[i]]) clearTimeout(state.readTimers[ids[i]].timer);
      state.readTimers = {};
      if (live.heartbeatTimer) {
        var confirmed = confirmedIds();
        for (var j = 0; j < confirmed.length; j += 1) heartbeat(confirmed[j], 'offline');
      }
      state.chats = {};
      clearTimeout(state.discoveryTimer);
      state.discoveryTimer = null;
      syncLive();
    }

    // ---- reads --------------------------------------------------------------------------------------

    function readKey(chatId) {
      return 'klb:read:' + (userAmojoId() || '') + ':' + chatId;
    }

    /** When this user last read the chat, in this tab or another one of the same browser. */
    function lastReadAt(chatId) {
      var stored = 0;
      try {
        stored = Number(window.localStorage.getItem(readKey(chatId))) || 0;
      } catch (_error) {
        stored = 0;
      }
      return Math.max(stored, state.lastReadAt[chatId] || 0);
    }

    function rememberRead(chatId, at) {
      state.lastReadAt[chatId] = at;
      try {
        window.localStorage.setItem(readKey(chatId), String(at));
      } catch (_error) {
        // Private mode or a full storage: this tab's memory still keeps the pace.
      }
    }

    /**
     * Reads the chat after `delayMs`, and no sooner than `gapMs` after its last read (this tab or
     * another): READ_AGAIN_MS when something happened, READ_EVERY_MS for the read mark. A pending
     * earlier read covers any later request.
     */
    function requestRead(chatId, delayMs, gapMs) {
      if (!state.chats[chatId] || !state.chats[chatId].confirmed || !visible()) return;
      var now = Date.now();
      var at = Math.max(now + delayMs, lastReadAt(chatId) + gapMs);
      var pending = state.readTimers[chatId];
      if (pending && pending.at <= at) return;
      if (pending) clearTimeout(pending.timer);
      state.readTimers[chatId] = {
        at: at,
        timer: setTimeout(
          function () {
            delete state.readTimers[chatId];
            if (!state.chats[chatId] || !state.chats[chatId].confirmed || !visible()) return;
            if (lastReadAt(chatId) + gapMs > Date.now()) return requestRead(chatId, 0, gapMs);
            rememberRead(chatId, Date.now());
            bridge(
              'POST',
              chatPath(chatId, '/read'),
              readBody(),
              function () {},
              function () {
                // Not read after all: the next trigger (a message, the read mark, the tab shown again) tries again.
                rememberRead(chatId, 0);
              }
            );
          },
          Math.max(0, at - now)
        )
      };
    }

    function readBody() {
      var user = userAmojoId();
      return user ? { user_amojo_id: user } : {};
    }

    /** A talk event from Kommo's push channel: a client message in an open chat is read soon. */
    function onTalkEvent(message) {
      var body = message && message.body !== undefined ? message.body : message;
      if (typeof body === 'string') {
        try {
          body = JSON.parse(body);
        } catch (_error) {
          return;
        }
      }
      var payload = body && body.payload;
      var type = payload && Number(payload.type);
      var model = (payload && payload.model) || {};
      if (!contains(talkTypesSeen, type) && talkTypesSeen.length < 20 && type === Math.floor(type))
        talkTypesSeen.push(type);
      if (!contains(TALK_EVENT_KNOWN, type)) return;
      var chatId = model.chat_id;
      if (typeof chatId !== 'string' || !state.chats[chatId]) return;
      var clientWrote =
        type === TALK_EVENT_CREATE ||
        type === TALK_EVENT_UNREAD ||
        (contains(TALK_EVENT_UPDATES, type) && model.is_read !== true);
      if (clientWrote) requestRead(chatId, READ_AFTER_MESSAGE_MS, READ_AGAIN_MS);
    }

    function listenToTalks() {
      if (state.unlistenTalks || typeof self.listenSocketChannel !== 'function') return;
      try {
        state.unlistenTalks = self.listenSocketChannel('inbox:talks:' + account().id, [], onTalkEvent);
      } catch (_error) {
        state.unlistenTalks = null;
      }
    }

    /**
     * The fallback behind talk events (their format is Kommo's internal, and a push may be lost):
     * while a chat stays open and visible it is read 30 s after its last read, so a client message is
     * read within 30 s even when no talk event said so. Never turned off: a talk event only reads
     * sooner, and a read it caused puts the next mark off (no mark within 30 s of any read).
     */
    function readMark() {
      if (!visible()) return;
      var ids = chatIds();
      for (var i = 0; i < ids.length; i += 1) requestRead(ids[i], 0, READ_EVERY_MS);
    }

    // ---- the live channel ---------------------------------------------------------------------------

    /**
     * The live connection is the Kommo user's presence in the interface (`user.presence.changed`), so
     * it is open on every Kommo page while the tab is visible, chats or not; hidden, it closes, and
     * the bridge counts the user offline 15 s later unless another tab is visible.
     */
    function wantLive() {
      return started && !!state.base && visible();
    }

    function connect() {
      if (!wantLive()) return syncLive();
      if (live.unavailable) return startHeartbeats();
      if (live.socket || live.connecting || live.retryTimer) return syncLive();
      live.connecting = true;
      bridge(
        'POST',
        '/widget/live',
        {},
        function (answer) {
          live.connecting = false;
          showProblem(null);
          if (!wantLive()) return;
          if (!answer || typeof answer.url !== 'string' || typeof window.WebSocket !== 'function')
            return useHeartbeats();
          openSocket(answer.url, answer.ping_seconds);
        },
        function (status, code) {
          live.connecting = false;
          // A bridge without the live channel (an older one: 404, or one deployed without it) still takes heartbeats.
          if (status === 404 || status === 405 || code === 'not_configured') return useHeartbeats();
          // 403: the account is not connected; 0: the bridge did not answer. Both shown, both retried.
          showProblem(problemOf(status));
          forgetPresence();
          retryLive();
        }
      );
    }

    function retryLive() {
      clearTimeout(live.retryTimer);
      live.retryTimer = setTimeout(function () {
        live.retryTimer = null;
        connect();
      }, retryDelay(live.attempt));
      live.attempt += 1;
    }

    /**
     * `pingSeconds`: what the bridge's ticket said. A bridge that names the interval also takes pings that
     * ask for no pong (nothing here reads pongs: a closed socket says it is gone); an older one gets plain pings.
     */
    function openSocket(url, pingSeconds) {
      var told =
        typeof pingSeconds === 'number' &&
        pingSeconds % 1 === 0 &&
        pingSeconds >= PING_SECONDS_RANGE[0] &&
        pingSeconds <= PING_SECONDS_RANGE[1];
      var pingMs = told ? pingSeconds * 1000 : PING_MS;
      var ping = told ? { action: 'ping', pong: false } : { action: 'ping' };
      var socket;
      try {
        socket = new window.WebSocket(url);
      } catch (_error) {
        return retryLive();
      }
      live.socket = socket;
      live.watched = {};
      forgetUnconfirmed();
      socket.onopen = function () {
        if (live.socket !== socket) return;
        var shown = { action: 'visibility', visible: true };
        var user = userAmojoId();
        if (user) shown.user_amojo_id = user;
        send(socket, shown);
        syncLive();
        live.pingTimer = setInterval(function () {
          send(socket, ping);
        }, pingMs);
      };
      socket.onmessage = function (event) {
        if (live.socket !== socket) return;
        var frame;
        try {
          frame = JSON.parse(event.data);
        } catch (_error) {
          return;
        }
        if (frame && frame.type === 'error') noteRefusal(frame.code);
        if (frame && frame.type === 'client.presence') {
          live.attempt = 0;
          watchConfirmed(frame.kommo_conversation_id);
          confirmChat(frame.kommo_conversation_id, frame.client_id);
          showPresence(frame.kommo_conversation_id, frame);
        }
      };
      socket.onclose = function () {
        if (live.socket !== socket) return;
        clearInterval(live.pingTimer);
        live.socket = null;
        live.watched = {};
        forgetUnconfirmed();
        // What was shown may be stale now: nothing is better than a wrong "online".
        forgetPresence();
        if (wantLive()) retryLive();
      };
    }

    function send(socket, frame) {
      if (socket.readyState !== 1) return false;
      socket.send(JSON.stringify(frame));
      return true;
    }

    /** Watches the card's chats on the socket, unwatches the others; closes the socket when the tab is hidden. */
    function syncLive() {
      if (live.heartbeatTimer && !wantLive()) stopHeartbeats();
      var socket = live.socket;
      if (!socket) return;
      if (!wantLive()) {
        live.socket = null;
        clearInterval(live.pingTimer);
        for (var gone in live.watched) send(socket, { action: 'unwatch', kommo_conversation_id: gone });
        live.watched = {};
        forgetUnconfirmed();
        send(socket, { action: 'visibility', visible: false });
        socket.close(1000, 'tab hidden or widget stopped');
        return;
      }
      var ids = chatIds();
      for (var i = 0; i < ids.length; i += 1) {
        if (live.watched[ids[i]]) continue;
        if (sendWatch(socket, ids[i])) {
          live.watched[ids[i]] = true;
          awaitConfirmation(ids[i], 0);
        }
      }
      for (var watched in live.watched) {
        if (state.chats[watched]) continue;
        send(socket, { action: 'unwatch', kommo_conversation_id: watched });
        delete live.watched[watched];
        watchConfirmed(watched);
      }
    }

    function sendWatch(socket, chatId) {
      var frame = { action: 'watch', kommo_conversation_id: chatId };
      var user = userAmojoId();
      if (user) frame.user_amojo_id = user;
      return send(socket, frame);
    }

    /**
     * A watch sent on this socket waits for its client.presence frame; without one it is sent again, with
     * backoff, unless the only refusals the socket got meanwhile were for good (a chat of another channel
     * stays refused, so it is not asked about again). A confirmed watch is never sent again on this socket.
     */
    function awaitConfirmation(chatId, attempt) {
      watchConfirmed(chatId);
      var pending = { timer: null, attempt: attempt, transient: false, refused: false };
      pending.timer = setTimeout(
        function () {
          if (live.unconfirmed[chatId] !== pending) return;
          delete live.unconfirmed[chatId];
          var socket = live.socket;
          if (!socket || !live.watched[chatId] || !state.chats[chatId] || !wantLive()) return;
          if (pending.refused && !pending.transient) return;
          if (sendWatch(socket, chatId)) awaitConfirmation(chatId, attempt + 1);
        },
        WATCH_CONFIRM_MS[Math.min(attempt, WATCH_CONFIRM_MS.length - 1)]
      );
      live.unconfirmed[chatId] = pending;
    }

    function watchConfirmed(chatId) {
      var pending = live.unconfirmed[chatId];
      if (!pending) return;
      clearTimeout(pending.timer);
      delete live.unconfirmed[chatId];
    }

    /** An error frame names no chat: it counts for every watch still waiting on this socket. */
    function noteRefusal(code) {
      var transient = contains(TRANSIENT_REFUSALS, code);
      for (var chatId in live.unconfirmed) {
        if (transient) live.unconfirmed[chatId].transient = true;
        else live.unconfirmed[chatId].refused = true;
      }
    }

    function forgetUnconfirmed() {
      for (var chatId in live.unconfirmed) clearTimeout(live.unconfirmed[chatId].timer);
      live.unconfirmed = {};
    }

    function useHeartbeats() {
      live.unavailable = true;
      startHeartbeats();
    }

    function heartbeat(chatId, presenceState) {
      var body = readBody();
      body.state = presenceState;
      bridge(
        'POST',
        chatPath(chatId, '/presence'),
        body,
        function (answer) {
          if (presenceState !== 'online') return;
          showProblem(null);
          confirmChat(chatId, answer && answer.client_presence && answer.client_presence.client_id);
          if (answer && answer.client_presence !== undefined) showPresence(chatId, answer.client_presence);
        },
        function (status) {
          if (presenceState !== 'online' || !state.chats[chatId]) return;
          // 404: not this channel's chat; it is dropped, and nothing was recorded for it.
          if (status === 404) {
            delete state.chats[chatId];
            return renderPanel();
          }
          showProblem(problemOf(status));
          forgetPresence();
        }
      );
    }

    function startHeartbeats() {
      if (live.heartbeatTimer || !wantLive()) return;
      var beat = function () {
        // Unconfirmed chats too: the first answer is what confirms them (or 404 drops them).
        var ids = chatIds();
        for (var i = 0; i < ids.length; i += 1) heartbeat(ids[i], 'online');
      };
      live.heartbeatTimer = setInterval(beat, HEARTBEAT_MS);
      beat();
    }

    function stopHeartbeats() {
      clearInterval(live.heartbeatTimer);
      live.heartbeatTimer = null;
      var ids = confirmedIds();
      for (var i = 0; i < ids.length; i += 1) heartbeat(ids[i], 'offline');
    }

    // ---- the panel in the card's right column -----------------------------------------------------

    function problemOf(status) {
      if (status === 403) return 'not_connected';
      if (status === 0) return 'unreachable';
      return state.problem;
    }

    function showProblem(problem) {
      if (state.problem === problem) return;
      state.problem = problem;
      renderPanel();
    }

    function showPresence(chatId, presence) {
      var chat = state.chats[chatId];
      if (!chat || !chat.confirmed) return;
      chat.presence = presence && typeof presence === 'object' ? presence : null;
      chat.presenceKnown = true;
      renderPanel();
    }

    function forgetPresence() {
      var ids = chatIds();
      for (var i = 0; i < ids.length; i += 1) state.chats[ids[i]].presenceKnown = false;
      renderPanel();
    }

    function lastSeenText(iso) {
      var at = new Date(iso);
      if (isNaN(at.getTime())) return '';
      var sameDay = at.toDateString() === new Date().toDateString();
      var time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      return sameDay ? time : at.toLocaleDateString() + ' ' + time;
    }

    function markHtml(chatId, chat, label) {
      var presence = chat.presence;
      var text = words('presence');
      var online = !!(presence && presence.online);
      var line = online
        ? text.online
        : presence && presence.last_seen_at
          ? text.last_seen + ' ' + lastSeenText(presence.last_seen_at)
          : text.offline;
      return (
        '<div class="klb-mark" data-klb-chat="' +
        escapeHtml(chatId) +
        '" data-klb-state="' +
        (online ? 'online' : 'offline') +
        '">' +
        '<span class="klb-dot" style="display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:6px;background:' +
        (online ? '#2e7d32' : '#9e9e9e') +
        '"></span>' +
        (label ? escapeHtml(label) + ': ' : '') +
        escapeHtml(line || '') +
        '</div>'
      );
    }

    function panelHtml() {
      if (!state.card) return '';
      if (!state.base)
        return (
          '<div class="klb-settings-error" style="color:#c62828">' +
          escapeHtml(words('errors').bridge_url || '') +
          '</div>'
        );
      if (state.problem)
        return (
          '<div class="klb-problem" style="color:#c62828">' +
          escapeHtml(words('errors')[state.problem] || '') +
          '</div>'
        );
      var ids = confirmedIds();
      var html = '';
      for (var i = 0; i < ids.length; i += 1) {
        var chat = state.chats[ids[i]];
        if (!chat.presenceKnown) continue;
        html += markHtml(ids[i], chat, ids.length > 1 || chat.label ? chat.label || words('presence').chat : '');
      }
      return html;
    }

    /** The widget's block in the card's right column (amoCRM's `render_template`), created once per card view. */
    function panel() {
      var existing = document.querySelector('.klb-panel');
      if (existing) return existing;
      if (!state.card || typeof self.render_template !== 'function') return null;
      self.render_template({
        caption: { class_name: 'klb-caption' },
        body: '',
        render: '<div class="klb-panel"></div>'
      });
      return document.querySelector('.klb-panel');
    }

    /** The block exists from `render` on in a card; what it shows comes later, as answers arrive. */
    function renderPanel() {
      var html = panelHtml();
      var element = state.card ? panel() : document.querySelector('.klb-panel');
      if (element) element.innerHTML = html;
    }

    // ---- the settings page's field check (docs/kommo.md, "A field check on a first real install") -----

    /** Talk event types seen on this page, for the field check (Kommo does not document them). */
    var talkTypesSeen = [];

    /** GET one CRM API form and keep its HTTP status (204 and 4xx are answers too). */
    function probeCrm(form, done) {
      var settled = false;
      var finish = function (status) {
        if (settled) return;
        settled = true;
        done({ form: form, status: status });
      };
      try {
        $.ajax({ url: form, type: 'GET', dataType: 'json', timeout: REQUEST_TIMEOUT_MS }).then(
          function (_body, _text, xhr) {
            finish(xhr && xhr.status ? xhr.status : 200);
          },
          function (xhr) {
            finish(statusOf(xhr));
          }
        );
      } catch (_error) {
        finish(0);
      }
    }

    /**
     * Records what the real page does and sends it to the bridge twice: the second report names the
     * token fingerprint of the first, so the bridge's log line says whether Kommo reused the token.
     */
    function fieldCheck() {
      if (!state.base) return;
      var forms = [
        '/api/v4/talks?filter[entity_type]=lead&filter[entity_id]=0&limit=1',
        '/api/v4/contacts/chats?contact_id=0'
      ];
      var results = [];
      var report = function (previous) {
        var entity = typeof APP.getBaseEntity === 'function' ? APP.getBaseEntity() : null;
        var body = {
          widget_version: String((typeof self.get_version === 'function' && self.get_version()) || '').slice(0, 32),
          is_card: typeof APP.isCard === 'function' ? !!APP.isCard() : null,
          entity: typeof entity === 'string' ? entity.slice(0, 32) : null,
          address: String((window.location && window.location.pathname) || '').slice(0, 256),
          talk_event_types: talkTypesSeen.slice(0, 20),
          crm_forms: results
        };
        if (previous) body.previous_token_fingerprint = previous;
        bridge(
          'POST',
          '/widget/field-check',
          body,
          function (answer) {
            if (!previous && answer && typeof answer.token_fingerprint === 'string') report(answer.token_fingerprint);
          },
          function () {}
        );
      };
      var next = function (index) {
        if (index >= forms.length) return report(undefined);
        probeCrm(forms[index], function (result) {
          results.push(result);
          next(index + 1);
        });
      };
      next(0);
    }

    // ---- life cycle -----------------------------------------------------------------------------------

    function onVisibility() {
      if (visible()) {
        var ids = chatIds();
        for (var i = 0; i < ids.length; i += 1) requestRead(ids[i], 0, READ_AGAIN_MS);
        connect();
      } else {
        // A chat in a background tab is not being looked at: the watch ends, reads wait.
        var pending = keys(state.readTimers);
        for (var j = 0; j < pending.length; j += 1) clearTimeout(state.readTimers[pending[j]].timer);
        state.readTimers = {};
        syncLive();
      }
    }

    function onPageHide() {
      state.card = null;
      leaveChats();
    }

    var started = false;
    function start() {
      if (started) return;
      started = true;
      state.base = bridgeBaseUrl((self.get_settings() || {}).bridge_url);
      $(document).on('page:changed', follow);
      document.addEventListener('visibilitychange', onVisibility);
      window.addEventListener('pagehide', onPageHide);
      // A page restored from the back-forward cache left its chats at pagehide: find them again.
      window.addEventListener('pageshow', follow);
      listenToTalks();
      state.readMarkTimer = setInterval(readMark, READ_EVERY_MS);
      follow();
      // Every page, chats or not: the connection is the user's presence in the interface.
      connect();
    }

    function stop() {
      if (!started) return;
      started = false;
      $(document).off('page:changed', follow);
      document.removeEventListener('visibilitychange', onVisibility);
      window.removeEventListener('pagehide', onPageHide);
      window.removeEventListener('pageshow', follow);
      clearInterval(state.readMarkTimer);
      if (state.unlistenTalks) state.unlistenTalks();
      state.unlistenTalks = null;
      state.card = null;
      state.generation += 1;
      leaveChats();
      // Not started any more: the connection closes (the user's presence in the interface with it).
      syncLive();
      clearTimeout(live.retryTimer);
      live.retryTimer = null;
      var element = document.querySelector('.klb-panel');
      if (element) element.innerHTML = '';
    }

    this.callbacks = {
      /** Kommo calls `render` on every page and again after `destroy`: the widget (re)starts here. */
      render: function () {
        start();
        return true;
      },
      init: function () {
        return true;
      },
      bind_actions: function () {
        start();
        return true;
      },
      /** The settings page: the field check runs once each time it opens. */
      settings: function () {
        fieldCheck();
        return true;
      },
      /** Refuses to save a Bridge URL the widget could not use (Kommo shows the settings form again). */
      onSave: function (data) {
        var fields = (data && data.fields) || {};
        if (data && data.active === 'N') return true;
        var base = bridgeBaseUrl(fields.bridge_url);
        if (!base) {
          window.alert(words('errors').bridge_url || 'Bridge URL');
          return false;
        }
        if (started && base !== state.base) {
          // The new address applies at once: the open card is looked up again there.
          state.card = null;
          leaveChats();
          state.base = base;
          follow();
        }
        return true;
      },
      destroy: function () {
        stop();
      }
    };
    return this;
  };
});
