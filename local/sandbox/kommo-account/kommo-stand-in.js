/*
 * The Kommo account stand-in's page script (served by local/sandbox/kommo-account.ts). It plays
 * Kommo's part for one widget, with only what Kommo documents to widgets: AMD `define` with jQuery,
 * `APP`, the widget object's SDK methods, `page:changed`, and the account's own pages (cards).
 * Then it loads the real widget/script.js, as Kommo loads it: as it is.
 */
(function () {
  'use strict';

  const boot = JSON.parse(document.getElementById('kommo-stand-in-boot').textContent);
  const base = boot.basePath;

  // ---- jQuery, the part the widget uses -------------------------------------------------------------

  const handlers = new Map(); // target → Map(event name → handler[])

  function on(target, name, handler) {
    if (!handlers.has(target)) handlers.set(target, new Map());
    const byName = handlers.get(target);
    byName.set(name, [...(byName.get(name) || []), handler]);
  }

  function off(target, name, handler) {
    const byName = handlers.get(target);
    if (!byName) return;
    if (handler === undefined) byName.delete(name);
    else
      byName.set(
        name,
        (byName.get(name) || []).filter((known) => known !== handler)
      );
  }

  function trigger(target, name, args) {
    const list = (handlers.get(target) && handlers.get(target).get(name)) || [];
    const event = { type: name, target, preventDefault() {}, stopPropagation() {} };
    for (const handler of list.slice()) handler.apply(target, [event].concat(args || []));
  }

  function $(target) {
    if (typeof target === 'function') {
      if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => target($));
      else target($);
      return undefined;
    }
    const elements =
      typeof target === 'string' ? Array.from(document.querySelectorAll(target)) : target ? [target] : [];
    const wrapped = {
      length: elements.length,
      on(name, handler) {
        for (const element of elements) on(element, name, handler);
        return wrapped;
      },
      off(name, handler) {
        for (const element of elements) off(element, name, handler);
        return wrapped;
      },
      trigger(name, args) {
        for (const element of elements) trigger(element, name, args);
        return wrapped;
      }
    };
    return wrapped;
  }

  /**
   * `$.ajax` over fetch: a jqXHR-like object whose `then(done, fail)` calls `done(body, textStatus, xhr)`
   * or `fail(xhr, textStatus, error)` as jQuery does (204 is a success without a body; an unparsable
   * body with dataType json is a `parsererror` failure; a failed connection is status 0).
   */
  function ajax(options, extraHeaders) {
    const xhr = { readyState: 0, status: 0, statusText: '', responseText: '', responseJSON: undefined };
    const controller = new AbortController();
    xhr.abort = () => controller.abort();
    const settled = Promise.resolve(extraHeaders)
      .then((added) => {
        const method = String(options.method || options.type || 'GET').toUpperCase();
        const headers = Object.assign({}, options.headers || {}, added || {});
        let url = options.url;
        let body;
        if (options.data !== undefined && options.data !== null) {
          const encoded =
            typeof options.data === 'string' ? options.data : new URLSearchParams(options.data).toString();
          if (method === 'GET') url += (url.indexOf('?') >= 0 ? '&' : '?') + encoded;
          else {
            body = encoded;
            headers['Content-Type'] = options.contentType || 'application/x-www-form-urlencoded; charset=UTF-8';
          }
        }
        if (options.dataType === 'json') headers.Accept = 'application/json, text/javascript, */*; q=0.01';
        const timer = options.timeout ? setTimeout(() => controller.abort(), options.timeout) : undefined;
        return fetch(url, { method, headers, body, signal: controller.signal, credentials: 'same-origin' })
          .then(async (response) => {
            xhr.readyState = 4;
            xhr.status = response.status;
            xhr.statusText = response.statusText;
            xhr.responseText = await response.text();
            try {
              xhr.responseJSON = xhr.responseText ? JSON.parse(xhr.responseText) : undefined;
            } catch (error) {
              xhr.responseJSON = undefined;
            }
            if (!(response.status >= 200 && response.status < 300) && response.status !== 304)
              return { ok: false, args: [xhr, 'error', response.statusText] };
            if (response.status === 204 || method === 'HEAD') return { ok: true, args: [undefined, 'nocontent', xhr] };
            if (options.dataType === 'json') {
              return xhr.responseJSON === undefined
                ? { ok: false, args: [xhr, 'parsererror', new SyntaxError('Unexpected end of JSON input')] }
                : { ok: true, args: [xhr.responseJSON, 'success', xhr] };
            }
            return { ok: true, args: [xhr.responseText, 'success', xhr] };
          })
          .finally(() => clearTimeout(timer));
      })
      .catch((error) => ({ ok: false, args: [xhr, controller.signal.aborted ? 'timeout' : 'error', String(error)] }));
    const request = Object.assign(xhr, {
      then(done, fail) {
        return settled.then((result) =>
          result.ok ? done && done.apply(null, result.args) : fail && fail.apply(null, result.args)
        );
      },
      done(callback) {
        settled.then((result) => result.ok && callback.apply(null, result.args));
        return request;
      },
      fail(callback) {
        settled.then((result) => !result.ok && callback.apply(null, result.args));
        return request;
      },
      always(callback) {
        settled.then((result) => callback.apply(null, result.args));
        return request;
      }
    });
    return request;
  }

  $.ajax = ajax;

  // ---- AMD: the widget is a `define(['jquery'], factory)` module -------------------------------------

  let defined;
  window.define = function (deps, factory) {
    defined = { deps: Array.isArray(deps) ? deps : [], factory: typeof deps === 'function' ? deps : factory };
  };
  window.define.amd = { jQuery: true };

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
    trigger(document, 'page:changed', [{ location: base + path }]);
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
      const token = fetch(`${base}/one-time-token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(call)
      })
        .then((response) => (response.ok ? response.json() : Promise.reject(new Error(`token ${response.status}`))))
        .then((answer) => ({ 'X-Auth-Token': answer.token }));
      return ajax(options, token);
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
    listenSocketChannel(channel, keys, callback) {
      const subscriber = { channel, callback };
      subscribers.push(subscriber);
      return () => {
        const index = subscribers.indexOf(subscriber);
        if (index >= 0) subscribers.splice(index, 1);
      };
    }
  };

  function loadWidget() {
    return new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = `${base}/widget/script.js`;
      script.onload = () => resolve();
      script.onerror = () => reject(new Error('widget/script.js did not load'));
      document.head.appendChild(script);
    }).then(() => {
      if (!defined) throw new Error('widget/script.js did not call define()');
      const Widget = defined.factory.apply(
        null,
        defined.deps.map((name) => (name === 'jquery' ? $ : undefined))
      );
      const widget = Object.create(sdk);
      Widget.call(widget);
      // init_once: Kommo runs render, init and bind_actions once per page load; render must return true.
      if (widget.callbacks.render() !== true) throw new Error('render() did not return true: Kommo would stop here');
      widget.callbacks.init();
      widget.callbacks.bind_actions();
      return widget;
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
              const data = event.data;
              const what =
                event.type === 'presence.changed'
                  ? `Kommo user ${data.kommo_user_id} ${data.state} in`
                  : event.type === 'conversation.read'
                    ? `Kommo user ${data.kommo_user_id} read`
                    : `Kommo user ${data.kommo_user_id}:`;
              return `<div><b>${escapeHtml(event.type)}</b> ${escapeHtml(`${what} conversation ${data.conversation_id} (Kommo chat ${data.kommo_conversation_id})`)}</div>`;
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
})();
