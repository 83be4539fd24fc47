/*
 * The Kommo account stand-in's page script (served by local/sandbox/kommo-account.ts). It plays
 * Kommo's part for one widget, with only what Kommo documents to widgets: real RequireJS and jQuery
 * 3.7, `APP`, the widget object's SDK methods, `page:changed`, and the account's own pages (cards,
 * the chats inbox). Then it loads the real widget/script.js as Kommo does: an AMD module, built with `new`.
 */
(function () {
  'use strict';

  const boot = JSON.parse(document.getElementById('kommo-stand-in-boot').textContent);
  const base = boot.basePath;

  // ---- jQuery and RequireJS, the real ones Kommo's pages run (npm jquery 3.7, requirejs) --------------

  // RequireJS is on the page already (see kommo-account.ts); jQuery is its `jquery` module, as in Kommo.
  window.requirejs.config({ paths: { jquery: `${base}/vendor/jquery` } });

  window.requirejs(['jquery'], function ($) {
    // ---- APP and the account's pages -------------------------------------------------------------------

    const current = { entity: 'dashboard', id: 0 };

    window.APP = {
      constant(name) {
        if (name === 'account') return boot.account;
        if (name === 'user') return boot.user;
        return undefined;
      },
      isCard() {
        return current.id > 0;
      },
      getBaseEntity() {
        return current.entity;
      },
      getWidgetsArea() {
        if (!current.id) return current.entity;
        return current.entity === 'leads' ? 'lcard' : 'ccard';
      },
      data: { current_card: null }
    };

    function escapeHtml(text) {
      return String(text).replace(
        /[&<>"']/g,
        (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]
      );
    }

    function chatsOfCard() {
      if (current.entity === 'chats') return boot.chats.filter((chat) => chat.talkId === current.talkId);
      if (current.entity === 'contacts') {
        // Kommo shows a contact's chats in its card only when the contact has no leads.
        if (boot.leads.some((lead) => lead.contactIds.indexOf(current.id) >= 0)) return [];
        return boot.chats.filter((chat) => chat.contactId === current.id);
      }
      const lead = boot.leads.find((candidate) => candidate.id === current.id);
      return lead ? boot.chats.filter((chat) => chat.leadId === lead.id) : [];
    }

    function renderNav() {
      const link = (path, text) => `<a href="${base}${path}" data-nav="${path}">${escapeHtml(text)}</a>`;
      document.getElementById('nav').innerHTML =
        link('/', 'Dashboard') +
        '<h4>Chats</h4>' +
        boot.chats
          .map((chat) =>
            link(`/chats/${chat.talkId}${chat.leadId ? `/leads/detail/${chat.leadId}` : ''}`, `Talk ${chat.talkId}`)
          )
          .join('') +
        '<h4>Leads</h4>' +
        boot.leads.map((lead) => link(`/leads/detail/${lead.id}`, lead.name)).join('') +
        '<h4>Contacts</h4>' +
        boot.contacts.map((contact) => link(`/contacts/detail/${contact.id}`, contact.name)).join('');
    }

    function renderWorkArea() {
      const area = document.getElementById('work-area');
      if (current.entity === 'chats') {
        const chats = chatsOfCard();
        area.innerHTML =
          `<h2 class="card-title">Chats: talk ${current.talkId}</h2>` +
          chats
            .map(
              (chat) =>
                `<div class="chat" data-chat="${escapeHtml(chat.chatId)}"><h4>Chat ${escapeHtml(chat.chatId)}</h4>` +
                '<div class="messages"></div><div class="typing"></div></div>'
            )
            .join('');
        return;
      }
      if (!current.id) {
        area.innerHTML =
          '<h2>Dashboard</h2><p>Open a lead or a contact: its card shows the chat, and the widget its block in the right column.</p>';
        return;
      }
      const card = (current.entity === 'leads' ? boot.leads : boot.contacts).find(
        (candidate) => candidate.id === current.id
      );
      const chats = chatsOfCard();
      area.innerHTML =
        `<h2 class="card-title">${escapeHtml(card ? card.name : `#${current.id}`)}</h2>` +
        (chats.length === 0
          ? '<p>No chats.</p>'
          : chats
              .map(
                (chat) =>
                  `<div class="chat" data-chat="${escapeHtml(chat.chatId)}"><h4>Chat ${escapeHtml(chat.chatId)}</h4>` +
                  '<div class="messages"></div><div class="typing"></div>' +
                  (boot.sandboxPanels
                    ? `<button type="button" data-client-writes="${escapeHtml(chat.chatId)}">Simulate a client message</button>`
                    : '') +
                  '</div>'
              )
              .join(''));
    }

    /** Kommo's SPA navigation: the page changes without a reload, and widgets hear `page:changed`. */
    function navigate(path) {
      const match = /^\/(leads|contacts)\/detail\/(\d+)$/.exec(path);
      // The chats inbox: `/chats/{talk_id}/leads/detail/{lead_id}`. Not a card here (undocumented in Kommo).
      const inbox = /^\/chats\/(\d+)(?:\/leads\/detail\/\d+)?$/.exec(path);
      current.entity = match ? match[1] : inbox ? 'chats' : 'dashboard';
      current.id = match ? Number(match[2]) : 0;
      current.talkId = inbox ? Number(inbox[1]) : 0;
      window.APP.data.current_card = current.id ? { id: current.id, entity: current.entity } : null;
      document.getElementById('card-widgets').innerHTML = '';
      renderWorkArea();
      $(document).trigger('page:changed', [{ location: base + path }]);
    }

    function localPath() {
      return location.pathname.slice(base.length) || '/';
    }

    document.addEventListener('click', (event) => {
      const link = event.target.closest('[data-nav]');
      if (link) {
        event.preventDefault();
        history.pushState(null, '', base + link.getAttribute('data-nav'));
        navigate(link.getAttribute('data-nav'));
        return;
      }
      const writes = event.target.closest('[data-client-writes]');
      if (writes) {
        fetch(`${base}/chats/${encodeURIComponent(writes.getAttribute('data-client-writes'))}/client-message`, {
          method: 'POST',
          body: '{}'
        });
      }
    });
    window.addEventListener('popstate', () => navigate(localPath()));

    // ---- Kommo's push channels: `listenSocketChannel` ----------------------------------------------------

    const subscribers = [];
    let talkSeq = 0;

    function pollTalkEvents() {
      fetch(`${base}/talk-events?after=${talkSeq}`, { cache: 'no-store' })
        .then((response) => (response.ok ? response.json() : { events: [] }))
        .then((answer) => {
          for (const event of answer.events) {
            talkSeq = Math.max(talkSeq, event.seq);
            for (const subscriber of subscribers.slice())
              if (subscriber.channel === event.channel) subscriber.callback(event.message);
          }
          pollTalkEvents();
        })
        .catch(() => setTimeout(pollTalkEvents, 1000));
    }

    // ---- the widget ------------------------------------------------------------------------------------

    const sdk = {
      get_settings() {
        return Object.assign({ widget_code: 'kommo_live_bridge', path: `${base}/widget`, active: 'Y' }, boot.settings);
      },
      i18n(key) {
        return boot.i18n[key];
      },
      get_version() {
        return '0.0.0';
      },
      /** `$.ajax` plus X-Auth-Token, a one-time token Kommo's server mints for each call. */
      $authorizedAjax(options) {
        // The page's time and the call go with the token request, so tests see when the widget called, by the page's clock.
        const call = {
          at: Date.now(),
          method: String(options.method || options.type || 'GET').toUpperCase(),
          url: String(options.url)
        };
        // A Deferred like Kommo's: the token first, then jQuery's own `$.ajax` with X-Auth-Token.
        const answer = $.Deferred();
        fetch(`${base}/one-time-token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(call)
        })
          .then((response) => (response.ok ? response.json() : Promise.reject(new Error(`token ${response.status}`))))
          .then(
            (token) => {
              const headers = Object.assign({}, options.headers || {}, { 'X-Auth-Token': token.token });
              $.ajax(Object.assign({}, options, { headers })).then(answer.resolve, answer.reject);
            },
            (error) => answer.reject({ status: 0, readyState: 0 }, 'error', String(error))
          );
        return answer.promise();
      },
      /** Kommo wraps the widget's markup in its block of the card's right column. */
      render_template(template) {
        if (!window.APP.isCard()) return;
        const block = document.createElement('div');
        block.className = 'card-widgets__widget';
        block.setAttribute('data-widget-code', 'kommo_live_bridge');
        const captionClass = (template && template.caption && template.caption.class_name) || '';
        block.innerHTML =
          `<div class="card-widgets__widget-caption ${escapeHtml(captionClass)}"><img src="${base}/widget/images/logo_min.png" width="16" height="16" alt=""> ${escapeHtml(boot.i18n.widget.name)}</div>` +
          `<div class="card-widgets__widget-body">${(template && template.body) || ''}${(template && template.render) || ''}</div>`;
        document.getElementById('card-widgets').appendChild(block);
      },
      listenSocketChannel(channel, _keys, callback) {
        const subscriber = { channel, callback };
        subscribers.push(subscriber);
        return () => {
          const index = subscribers.indexOf(subscriber);
          if (index >= 0) subscribers.splice(index, 1);
        };
      }
    };

    /** Kommo loads the widget as an AMD module with RequireJS and builds it with `new`, its SDK on the prototype. */
    function loadWidget() {
      return new Promise((resolve, reject) => {
        window.requirejs(
          [`${base}/widget/script.js`],
          (Widget) => {
            if (typeof Widget !== 'function') return reject(new Error('widget/script.js did not define a constructor'));
            Object.assign(Widget.prototype, sdk);
            const widget = new Widget();
            // init_once: Kommo runs render, init and bind_actions once per page load; render must return true.
            if (widget.callbacks.render() !== true)
              return reject(new Error('render() did not return true: Kommo would stop here'));
            widget.callbacks.init();
            widget.callbacks.bind_actions();
            resolve(widget);
          },
          () => reject(new Error('widget/script.js did not load'))
        );
      });
    }

    // ---- the sandbox's own panels: Kommo's typing indicator, the messages, what the chat service got ----

    function pollFeed() {
      fetch(`${base}/feed`, { cache: 'no-store' })
        .then((response) => response.json())
        .then((feed) => {
          for (const chat of document.querySelectorAll('.chat[data-chat]')) {
            const id = chat.getAttribute('data-chat');
            chat.querySelector('.messages').innerHTML = feed.messages
              .filter((message) => message.chatId === id)
              .map(
                (message) =>
                  `<div><span class="message">${escapeHtml(message.text)}</span> <small>${new Date(message.at).toLocaleTimeString()}</small></div>`
              )
              .join('');
            chat.querySelector('.typing').textContent = feed.typing.indexOf(id) >= 0 ? 'The client is typing…' : '';
          }
          const log = document.getElementById('sandbox-events');
          if (log) {
            log.innerHTML = feed.chatService
              .slice()
              .reverse()
              .map((event) => {
                const data = event.data || {};
                // Typing events name the Kommo user by amojo id, the widget's events by the numeric id too.
                const user =
                  typeof data.kommo_user_id === 'number'
                    ? `Kommo user #${data.kommo_user_id}`
                    : `Kommo user ${typeof data.user_id === 'string' ? data.user_id : '(unknown)'}`;
                const chat =
                  typeof data.conversation_id === 'string'
                    ? `conversation ${data.conversation_id}`
                    : `Kommo chat ${data.kommo_conversation_id || '(unknown)'}`;
                const at = new Date(event.timestamp || Date.now()).toISOString().slice(11, 19);
                const what =
                  event.type === 'user.presence.changed'
                    ? `${user} ${data.state} in Kommo`
                    : event.type === 'presence.changed'
                      ? `${user} ${data.state} in ${chat}`
                      : event.type === 'conversation.read'
                        ? `${user} read ${chat}`
                        : event.type === 'typing.started'
                          ? `${user} types in ${chat}`
                          : event.type === 'typing.stopped'
                            ? `${user} stopped typing in ${chat}`
                            : `${user}: ${chat}`;
                return `<div>${escapeHtml(at)} <b>${escapeHtml(event.type)}</b> ${escapeHtml(what)}</div>`;
              })
              .join('');
          }
        })
        .catch(() => undefined)
        .finally(() => setTimeout(pollFeed, 1000));
    }

    renderNav();
    navigate(localPath());
    if (boot.talkEvents) pollTalkEvents();
    if (boot.sandboxPanels) pollFeed();
    window.kommoStandIn = {
      widget: loadWidget().catch((error) => {
        document.getElementById('card-widgets').textContent = error.message;
        throw error;
      }),
      navigate(path) {
        history.pushState(null, '', base + path);
        navigate(path);
      }
    };
  });
})();
