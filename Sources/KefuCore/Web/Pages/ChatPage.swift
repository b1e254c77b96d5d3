/// The customer chat page served at `GET /chat/`: one self-contained HTML document (inline CSS
/// and plain JavaScript, no external assets) that speaks the browser side of docs/HTTP.md.
///
/// It keeps `{conversation, token, lastSeq}` in `localStorage`, shows the history, follows the
/// conversation over `/v1/ws` (falling back to Server-Sent Events and `POST /v1/messages`),
/// shows every item once in `seq` order, retries a message with the same `client_message_id`,
/// renders choices, the queue / agent / rating states, and reconnects with back-off from the
/// last `seq`. Every text the server or the customer wrote is set with `textContent`.
public enum ChatPage {
    public static let html: String = #"""
<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>在线客服</title>
<style>
:root { --ink: #1b1f24; --muted: #5b6570; --line: #d8dde3; --brand: #1f3a5f; --me: #1f6feb;
        --agent: #e7f6ec; --agent-edge: #237a3b; --warn: #fff6d6; --warn-edge: #e3c45a; }
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { font: 16px/1.5 system-ui, -apple-system, "PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC",
       "Microsoft YaHei", sans-serif; color: var(--ink); background: #e9edf1; }
.app { display: flex; flex-direction: column; height: 100vh; height: 100dvh; max-width: 760px;
       margin: 0 auto; background: #f7f8fa; }
header { display: flex; align-items: center; gap: 8px; padding: 10px 12px;
         padding-top: max(10px, env(safe-area-inset-top)); background: var(--brand); color: #fff; }
header h1 { font-size: 17px; margin: 0; flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
header select, header button { font: inherit; font-size: 14px; border-radius: 8px; border: 1px solid #8aa2c2;
         background: #2b4d78; color: #fff; padding: 4px 8px; min-height: 32px; }
header button { cursor: pointer; }
#banner { display: none; padding: 6px 12px; font-size: 14px; text-align: center; background: #ffe9c7;
          color: #6b4300; border-bottom: 1px solid #f2c777; }
#banner.on { display: block; }
#error { display: none; padding: 6px 12px; font-size: 14px; background: #fde8e8; color: #8a1c1c; }
#error.on { display: block; }
#log { flex: 1; overflow-y: auto; padding: 14px 12px; display: flex; flex-direction: column; gap: 10px;
       overscroll-behavior: contain; -webkit-overflow-scrolling: touch; }
.item { max-width: 85%; display: flex; flex-direction: column; }
.item .who { font-size: 12px; color: var(--muted); margin: 0 4px 2px; }
.bubble { padding: 8px 12px; border-radius: 14px; white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word; }
.item.customer { align-self: flex-end; align-items: flex-end; }
.item.customer .bubble { background: var(--me); color: #fff; border-bottom-right-radius: 4px; }
.item.customer.pending .bubble { opacity: .6; }
.item.customer.failed .bubble { background: #b42318; }
.item .retry { font: inherit; font-size: 12px; color: #b42318; background: none; border: 0; padding: 2px 4px; cursor: pointer; text-decoration: underline; }
.item.bot { align-self: flex-start; }
.item.bot .bubble { background: #fff; border: 1px solid var(--line); border-bottom-left-radius: 4px; }
.item.agent { align-self: flex-start; }
.item.agent .who { color: var(--agent-edge); font-weight: 600; }
.item.agent .bubble { background: var(--agent); border: 1px solid #9fd3ae; border-left: 4px solid var(--agent-edge);
                      border-bottom-left-radius: 4px; }
.item.notice { align-self: center; max-width: 92%; }
.item.notice .bubble { font-size: 13px; color: var(--muted); background: #eaeef2; border-radius: 10px; padding: 4px 12px; text-align: center; }
.choices { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
.choices button { font: inherit; font-size: 15px; text-align: left; padding: 6px 12px; min-height: 36px; border-radius: 18px;
                  border: 1px solid var(--me); background: #fff; color: var(--me); cursor: pointer; }
.choices button:disabled { border-color: var(--line); color: var(--muted); cursor: default; }
.choices button:not(:disabled):hover, .choices button:not(:disabled):focus-visible { background: #e8f0fe; }
#state { display: none; padding: 8px 12px; font-size: 14px; background: var(--warn); border-top: 1px solid var(--warn-edge); }
#state.on { display: block; }
#state[data-state="with_person"] { background: var(--agent); border-top-color: #9fd3ae; color: #14532d; }
#rating { display: none; padding: 10px 12px; border-top: 1px solid var(--line); background: #fff; text-align: center; }
#rating.on { display: block; }
#rating p { margin: 0 0 6px; font-size: 15px; }
#rating .stars { display: inline-flex; gap: 4px; }
#rating button { font-size: 30px; line-height: 1; width: 48px; height: 48px; border: 0; border-radius: 10px; background: none;
                 color: #c3c9d0; cursor: pointer; padding: 0; }
#rating button.lit, #rating .stars:hover button { color: #f5a623; }
#rating .stars button:hover ~ button { color: #c3c9d0; }
#rating button:focus-visible { outline: 2px solid var(--me); }
footer { border-top: 1px solid var(--line); background: #fff; padding: 8px; padding-bottom: max(8px, env(safe-area-inset-bottom)); }
footer form { display: flex; gap: 8px; align-items: flex-end; margin: 0; }
#input { flex: 1; min-width: 0; resize: none; font: inherit; font-size: 16px; line-height: 1.4; padding: 10px 12px; min-height: 44px;
         max-height: 140px; border: 1px solid #c3cbd4; border-radius: 12px; background: #fff; color: var(--ink); }
#input:focus { outline: 2px solid #9cc0fa; border-color: var(--me); }
#send { font: inherit; min-width: 68px; min-height: 44px; border: 0; border-radius: 12px; background: var(--me); color: #fff;
        font-weight: 600; cursor: pointer; padding: 0 14px; }
#send:disabled { background: #9bb4d9; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (min-width: 800px) {
  body { padding: 24px 0; }
  .app { height: calc(100vh - 48px); border-radius: 14px; overflow: hidden; box-shadow: 0 8px 30px rgba(20, 40, 70, .18); }
  header h1 { font-size: 19px; }
  .item { max-width: 72%; }
}
</style>
</head>
<body>
<div class="app">
  <header>
    <h1 id="title" data-i18n="title">在线客服</h1>
    <label class="sr" for="lang" data-i18n="language">语言</label>
    <select id="lang">
      <option value="zh-Hans">简体</option>
      <option value="zh-Hant">繁體</option>
      <option value="en">EN</option>
    </select>
    <button id="newchat" type="button" data-i18n="newChat">新对话</button>
  </header>
  <div id="banner" role="status" aria-live="polite"></div>
  <div id="error" role="alert"></div>
  <main id="log" aria-live="polite" aria-relevant="additions"></main>
  <div id="state" role="status" aria-live="polite"></div>
  <div id="rating">
    <p id="rating-label" data-i18n="rate">请为本次服务评分</p>
    <div class="stars" role="group" aria-labelledby="rating-label">
      <button type="button" data-score="1">★</button><button type="button" data-score="2">★</button><button type="button" data-score="3">★</button><button type="button" data-score="4">★</button><button type="button" data-score="5">★</button>
    </div>
  </div>
  <footer>
    <form id="composer" autocomplete="off">
      <label class="sr" for="input" data-i18n="placeholder">请输入您的问题</label>
      <textarea id="input" rows="1" maxlength="4000" enterkeyhint="send"></textarea>
      <button id="send" type="submit" data-i18n="send">发送</button>
    </form>
  </footer>
</div>
<script>
(function () {
  'use strict';

  // ---- labels -------------------------------------------------------------------------------
  var T = {
    'zh-Hans': {
      title: '在线客服', language: '语言', newChat: '新对话', send: '发送', rate: '请为本次服务评分',
      placeholder: '输入消息，Enter 发送', bot: '智能客服', agent: '人工客服', you: '我',
      agentNamed: '人工客服 {agent}', connecting: '正在连接…', reconnecting: '连接中断，正在重新连接…',
      queued: '正在为您转接人工客服：当前排在第 {position} 位，预计等待 {wait}。', queuedShort: '正在为您转接人工客服，请稍候。',
      withPerson: '人工客服 {agent} 正在为您服务。', withPersonShort: '人工客服正在为您服务。', ticket: '（服务单 {ticket}）',
      ratingState: '请为本次服务打分（1–5 星）。', star: '{n} 星', sending: '发送中…', failed: '未发送，点此重试',
      lost: '较早的消息已无法显示。', restarted: '已重新连接。', error: '出错了：{text}', startFailed: '暂时无法连接客服，正在重试…', tooLong: '消息太长，请分几条发送。'
    },
    'zh-Hant': {
      title: '線上客服', language: '語言', newChat: '新對話', send: '發送', rate: '請為本次服務評分',
      placeholder: '輸入訊息，Enter 傳送', bot: '智能客服', agent: '真人客服', you: '我',
      agentNamed: '真人客服 {agent}', connecting: '正在連線…', reconnecting: '連線中斷，正在重新連線…',
      queued: '正在為您轉接真人客服：目前排在第 {position} 位，預計等待 {wait}。', queuedShort: '正在為您轉接真人客服，請稍候。',
      withPerson: '真人客服 {agent} 正在為您服務。', withPersonShort: '真人客服正在為您服務。', ticket: '（服務單 {ticket}）',
      ratingState: '請為本次服務評分（1–5 星）。', star: '{n} 星', sending: '傳送中…', failed: '未送出，點此重試',
      lost: '較早的訊息已無法顯示。', restarted: '已重新連線。', error: '發生錯誤：{text}', startFailed: '暫時無法連線客服，正在重試…', tooLong: '訊息太長，請分幾則傳送。'
    },
    'en': {
      title: 'Customer service', language: 'Language', newChat: 'New chat', send: 'Send', rate: 'Please rate this service',
      placeholder: 'Type a message, Enter sends', bot: 'Assistant', agent: 'Agent', you: 'You',
      agentNamed: 'Agent {agent}', connecting: 'Connecting…', reconnecting: 'Connection lost, reconnecting…',
      queued: 'Connecting you to an agent: you are number {position} in the queue, expected wait {wait}.', queuedShort: 'Connecting you to an agent, please wait.',
      withPerson: '{agent} is with you now.', withPersonShort: 'An agent is with you now.', ticket: ' (case {ticket})',
      ratingState: 'Please rate this service (1–5 stars).', star: '{n} stars', sending: 'Sending…', failed: 'Not sent, tap to retry',
      lost: 'Earlier messages can no longer be shown.', restarted: 'Reconnected.', error: 'Error: {text}', startFailed: 'Cannot reach customer service yet, retrying…', tooLong: 'The message is too long; please send it in parts.'
    }
  };
  var STORE = 'kefu.chat', LANG_STORE = 'kefu.chat.lang';

  function storageGet(key) { try { return window.localStorage.getItem(key); } catch (e) { return null; } }
  function storageSet(key, value) { try { if (value === null) window.localStorage.removeItem(key); else window.localStorage.setItem(key, value); } catch (e) {} }

  function browserLang() {
    var l = String(navigator.language || (navigator.languages && navigator.languages[0]) || 'en').toLowerCase();
    if (l.indexOf('zh') !== 0) return 'en';
    return /hant|-tw|-hk|-mo/.test(l) ? 'zh-Hant' : 'zh-Hans';
  }
  var lang = storageGet(LANG_STORE);
  if (!T[lang]) lang = browserLang();

  function t(key, vars) {
    var s = (T[lang] && T[lang][key]) || T.en[key] || key;
    return s.replace(/\{(\w+)\}/g, function (_, k) { return vars && vars[k] != null ? String(vars[k]) : ''; });
  }

  // ---- elements -----------------------------------------------------------------------------
  var $ = function (id) { return document.getElementById(id); };
  var log = $('log'), input = $('input'), banner = $('banner'), errorBox = $('error'), stateBar = $('state'), rating = $('rating');

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function applyLang() {
    document.documentElement.lang = lang === 'en' ? 'en' : lang === 'zh-Hant' ? 'zh-Hant' : 'zh-CN';
    var nodes = document.querySelectorAll('[data-i18n]');
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = t(nodes[i].getAttribute('data-i18n'));
    document.title = t('title');
    input.placeholder = t('placeholder');
    $('lang').value = lang;
    var stars = rating.querySelectorAll('button');
    for (var j = 0; j < stars.length; j++) {
      stars[j].setAttribute('aria-label', t('star', { n: stars[j].getAttribute('data-score') }));
      stars[j].title = t('star', { n: stars[j].getAttribute('data-score') });
    }
    var whos = log.querySelectorAll('.who');
    for (var k = 0; k < whos.length; k++) whos[k].textContent = whoLabel(whos[k].getAttribute('data-who'), whos[k].getAttribute('data-agent'));
    var retries = log.querySelectorAll('.retry');
    for (var m = 0; m < retries.length; m++) retries[m].textContent = t('failed');
    renderState();
    if (banner.classList.contains('on')) banner.textContent = t(banner.getAttribute('data-key') || 'reconnecting');
  }

  function whoLabel(who, agent) {
    if (who === 'agent') return agent ? t('agentNamed', { agent: agent }) : t('agent');
    if (who === 'bot') return t('bot');
    return '';
  }

  function showBanner(key) {
    if (!key) { banner.classList.remove('on'); banner.textContent = ''; return; }
    banner.setAttribute('data-key', key);
    banner.textContent = t(key);
    banner.classList.add('on');
  }
  var errorTimer = null;
  function showError(text) {
    errorBox.textContent = t('error', { text: text });
    errorBox.classList.add('on');
    clearTimeout(errorTimer);
    errorTimer = setTimeout(function () { errorBox.classList.remove('on'); }, 8000);
  }

  // ---- conversation state -------------------------------------------------------------------
  var conv = null;            // {conversation, token, lastSeq}
  var seen = {};              // seq -> true: every item is shown once
  var maxSeq = 0;             // the highest seq shown
  var lastCustomerSeq = 0;
  var outbox = [];            // messages not yet confirmed by an item: {id, text, node, state, tries, timer}
  var ws = null, es = null, transport = 'ws', wsFailures = 0, sseFailures = 0, attempt = 0, reconnectTimer = null, live = false;
  var catchUpFailures = 0;
  var generation = 0;         // bumped by "new chat": late answers of an old conversation are ignored
  var current = { state: 'bot', position: null, wait: null, agent: null, ticket: null, seq: 0 };

  function load() {
    try {
      var o = JSON.parse(storageGet(STORE) || 'null');
      if (o && typeof o.conversation === 'string' && typeof o.token === 'string') {
        return { conversation: o.conversation, token: o.token, lastSeq: typeof o.lastSeq === 'number' ? o.lastSeq : 0 };
      }
    } catch (e) {}
    return null;
  }
  function save() {
    if (conv) storageSet(STORE, JSON.stringify({ conversation: conv.conversation, token: conv.token, lastSeq: maxSeq }));
  }

  function randomId() {
    var bytes = new Uint8Array(12), s = 'm-';
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    for (var i = 0; i < bytes.length; i++) s += (bytes[i] + 256).toString(16).slice(1);
    return s;
  }

  function nearBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 80; }
  function scrollDown() { log.scrollTop = log.scrollHeight; }

  // ---- rendering items ----------------------------------------------------------------------
  function stripAgentPrefix(text, agent) {
    var m = /^\[(人工客服|真人客服|agent)\s*([^\]]*)\]\s*/i.exec(text);
    return m && (!agent || m[2] === agent || m[2] === '') ? text.slice(m[0].length) : text;
  }

  function renderItem(o) {
    var kind = o.type === 'agent_joined' || o.type === 'resolved' || o.type === 'notice' ? 'notice'
             : o.from === 'customer' ? 'customer' : o.from === 'agent' || o.type === 'agent_reply' ? 'agent' : 'bot';
    var node = el('div', 'item ' + kind);
    node.setAttribute('data-seq', String(o.seq));
    node.setAttribute('data-from', String(o.from || ''));
    node.setAttribute('data-type', String(o.type || ''));
    if (o.route) node.setAttribute('data-route', String(o.route));
    if (o.state) node.setAttribute('data-state', String(o.state));
    if (kind === 'bot' || kind === 'agent') {
      var who = el('div', 'who', whoLabel(kind, o.agent));
      who.setAttribute('data-who', kind);
      if (o.agent) who.setAttribute('data-agent', String(o.agent));
      node.appendChild(who);
    }
    var text = String(o.text == null ? '' : o.text);
    if (kind === 'agent') text = stripAgentPrefix(text, o.agent);
    node.appendChild(el('div', 'bubble', text));
    if (Array.isArray(o.choices) && o.choices.length) {
      var box = el('div', 'choices');
      box.setAttribute('data-seq', String(o.seq));
      o.choices.forEach(function (label, i) {
        var b = el('button', null, (i + 1) + '. ' + String(label));
        b.type = 'button';
        b.setAttribute('data-choice', String(i + 1));
        b.addEventListener('click', function () { if (!b.disabled) sendText(String(i + 1)); });
        box.appendChild(b);
      });
      node.appendChild(box);
    }
    return node;
  }

  function insertBySeq(node, seq) {
    // After the items with smaller numbers, and after those shown before the server numbered
    // afresh and the notices (no number); before messages not yet confirmed, which stay last.
    var children = log.children;
    for (var i = 0; i < children.length; i++) {
      var c = children[i], s = c.getAttribute('data-seq');
      if (c.hasAttribute('data-client-id') || (s !== null && Number(s) > seq)) { log.insertBefore(node, c); return; }
    }
    log.appendChild(node);
  }

  function refreshChoices() {
    var boxes = log.querySelectorAll('.choices');
    for (var i = 0; i < boxes.length; i++) {
      var enabled = Number(boxes[i].getAttribute('data-seq')) > lastCustomerSeq && current.state !== 'rating';
      var buttons = boxes[i].querySelectorAll('button');
      for (var j = 0; j < buttons.length; j++) buttons[j].disabled = !enabled;
    }
  }

  function signature(o) { return String(o.from) + '\u0000' + String(o.type) + '\u0000' + String(o.text); }

  function addItem(o, gen) {
    if (gen !== undefined && gen !== generation) return;
    if (!o || typeof o.seq !== 'number') return;
    if (seen[o.seq] !== undefined) {
      // Shown already; the same number on another item means the server numbers afresh.
      if (seen[o.seq] !== signature(o)) renumbered();
      return;
    }
    seen[o.seq] = signature(o);
    var stick = nearBottom();
    if (o.from === 'customer') {
      lastCustomerSeq = Math.max(lastCustomerSeq, o.seq);
      if (o.client_message_id) {
        for (var i = 0; i < outbox.length; i++) {
          if (outbox[i].id === o.client_message_id) {
            var m = outbox[i];
            clearTimeout(m.timer);
            if (m.node && m.node.parentNode) m.node.parentNode.removeChild(m.node);
            outbox.splice(i, 1);
            stick = true;
            break;
          }
        }
      }
    }
    insertBySeq(renderItem(o), o.seq);
    if (o.seq > maxSeq) { maxSeq = o.seq; save(); }
    noteState(o);
    refreshChoices();
    if (stick) scrollDown();
  }

  // ---- handoff state ------------------------------------------------------------------------
  function noteState(o) {
    if (o.agent) current.agent = String(o.agent);
    if (o.ticket) current.ticket = String(o.ticket);
    if (o.seq < current.seq) return;
    var state = o.state;
    if (!state && (o.type === 'agent_joined' || o.type === 'agent_reply')) state = 'with_person';
    if (!state) return;
    current.seq = o.seq;
    if (o.from !== 'customer') rating.querySelectorAll('button').forEach(function (b) { b.classList.remove('lit'); b.disabled = false; });
    current.state = String(state);
    current.position = o.position != null ? o.position : state === 'queued' ? current.position : null;
    current.wait = o.wait != null ? o.wait : state === 'queued' ? current.wait : null;
    renderState();
  }

  function renderState() {
    var s = current.state, text = '';
    stateBar.setAttribute('data-state', s);
    if (s === 'queued') {
      text = current.position != null && current.wait ? t('queued', { position: current.position, wait: current.wait })
           : current.position != null ? t('queued', { position: current.position, wait: '—' }) : t('queuedShort');
    } else if (s === 'with_person') {
      text = current.agent ? t('withPerson', { agent: current.agent }) : t('withPersonShort');
    } else if (s === 'rating') {
      text = t('ratingState');
    }
    if (text && current.ticket && s !== 'rating') text += t('ticket', { ticket: current.ticket });
    stateBar.textContent = text;
    stateBar.classList.toggle('on', !!text && s !== 'rating');
    rating.classList.toggle('on', s === 'rating');
  }

  // ---- sending ------------------------------------------------------------------------------
  function renderPending(m) {
    var node = el('div', 'item customer pending');
    node.setAttribute('data-client-id', m.id);
    node.appendChild(el('div', 'bubble', m.text));
    return node;
  }

  function markFailed(m, why) {
    clearTimeout(m.timer);
    m.state = 'failed';
    if (!m.node) return;
    m.node.classList.remove('pending');
    m.node.classList.add('failed');
    if (!m.node.querySelector('.retry')) {
      var b = el('button', 'retry', t('failed'));
      b.type = 'button';
      b.addEventListener('click', function () {
        m.node.classList.remove('failed'); m.node.classList.add('pending');
        if (b.parentNode) b.parentNode.removeChild(b);
        m.tries = 0; trySend(m);
      });
      m.node.appendChild(b);
    }
    if (why) showError(why);
  }

  function sendText(text) {
    text = String(text).replace(/^\s+|\s+$/g, '');
    if (!text || !conv) return;
    var m = { id: randomId(), text: text, node: null, state: 'pending', tries: 0, timer: null, gen: generation };
    m.node = renderPending(m);
    log.appendChild(m.node);
    scrollDown();
    outbox.push(m);
    trySend(m);
  }

  function retryLater(m) {
    clearTimeout(m.timer);
    if (m.state === 'failed' || outbox.indexOf(m) < 0) return;
    var delay = Math.min(15000, 1000 * Math.pow(2, Math.min(m.tries, 4)));
    m.timer = setTimeout(function () { trySend(m); }, delay);
  }

  function trySend(m) {
    if (m.gen !== generation || outbox.indexOf(m) < 0 || m.state === 'failed') return;
    clearTimeout(m.timer);
    m.tries++;
    m.state = 'sending';
    if (ws && ws.readyState === 1) {
      try {
        ws.send(JSON.stringify({ text: m.text, client_message_id: m.id }));
        m.via = 'ws';
        // Its item normally comes back at once; if not, send it again with the same id.
        m.timer = setTimeout(function () { trySend(m); }, 12000);
        return;
      } catch (e) {}
    }
    postMessage(m);
  }

  function postMessage(m) {
    m.via = 'post';
    var gen = generation;
    fetch('/v1/messages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Authorization': 'Bearer ' + conv.token },
      body: JSON.stringify({ conversation: conv.conversation, text: m.text, client_message_id: m.id })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (gen !== generation) return;
        if (r.ok) { (body.items || []).forEach(function (o) { addItem(o); }); if (outbox.indexOf(m) >= 0) retryLater(m); return; }
        if (r.status === 400 || r.status === 401 || r.status === 403 || r.status === 409 || r.status === 413) {
          markFailed(m, body.error || ('HTTP ' + r.status));
          return;
        }
        retryLater(m);   // 429, 503, …: the same id again later
      });
    }).catch(function () { if (gen === generation) retryLater(m); });
  }

  function flushOutbox() {
    outbox.forEach(function (m) { if (m.state !== 'failed') trySend(m); });
  }

  // ---- history and live items ---------------------------------------------------------------
  function authHeaders() { return { 'Authorization': 'Bearer ' + conv.token }; }

  // After a restart the server numbers a conversation's items from 1 again (docs/HTTP.md):
  // what is shown stays, without numbers, and the new numbers are followed from 0.
  var numbering = 0, renumbering = false;
  function forgetNumbers() {
    numbering++;
    var shown = log.querySelectorAll('[data-seq]');
    for (var i = 0; i < shown.length; i++) shown[i].removeAttribute('data-seq');
    seen = {}; maxSeq = 0; lastCustomerSeq = 0; current.seq = 0;
    if (conv) conv.lastSeq = 0;
    if (shown.length) addNotice(t('restarted'));
    save();
    refreshChoices();
  }
  function renumbered() {
    if (renumbering || !conv) return;
    renumbering = true;
    closeTransports();
    forgetNumbers();
    var gen = generation;
    catchUp(true).then(function (result) {
      renumbering = false;
      if (gen !== generation) return;
      if (result === 'invalid') { startNew(); return; }
      connect();
    });
  }

  // Fetches what came after what is shown, from the last item shown on, so that an item
  // numbered afresh is noticed: 'ok', 'renumbered' (renumbered() carries on), 'invalid' (the
  // token no longer opens the conversation) or 'error'.
  function catchUp(again) {
    var gen = generation, epoch = numbering, after = Math.max(0, maxSeq - 1);
    return fetch('/v1/conversations/' + encodeURIComponent(conv.conversation) + '/messages?after=' + after, { headers: authHeaders() })
      .then(function (r) {
        if (r.status === 401 || r.status === 403 || r.status === 404) return 'invalid';
        if (!r.ok) return 'error';
        return r.json().then(function (body) {
          if (gen !== generation || epoch !== numbering) return 'renumbered';
          var remembered = Math.max(maxSeq, conv.lastSeq || 0);
          if (!again && typeof body.last_seq === 'number' && body.last_seq < remembered) {
            forgetNumbers();
            return catchUp(true);
          }
          var items = body.items || [];
          if (typeof body.first_seq === 'number' && body.first_seq > maxSeq + 1 && items.length) addNotice(t('lost'));
          for (var i = 0; i < items.length; i++) {
            if (epoch !== numbering) return 'renumbered';
            addItem(items[i], gen);
          }
          return epoch === numbering ? 'ok' : 'renumbered';
        });
      })
      .catch(function () { return 'error'; });
  }

  function addNotice(text) {
    var node = el('div', 'item notice');
    node.appendChild(el('div', 'bubble', text));
    // Before every item that is still to come: placed at the end of what is shown.
    var pending = log.querySelector('.pending, .failed');
    log.insertBefore(node, pending);
  }

  function wsURL() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/ws?conversation=' +
      encodeURIComponent(conv.conversation) + '&token=' + encodeURIComponent(conv.token) + '&after=' + maxSeq;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    if (!conv) return;
    if (transport === 'ws' && 'WebSocket' in window) openWebSocket(); else openEventSource();
  }

  function openWebSocket() {
    var gen = generation, opened = false, socket;
    try { socket = new WebSocket(wsURL()); } catch (e) { transport = 'sse'; openEventSource(); return; }
    ws = socket;
    socket.onopen = function () { if (ws !== socket) return; opened = true; wsFailures = 0; goneLive(); };
    socket.onmessage = function (ev) {
      if (ws !== socket || typeof ev.data !== 'string') return;
      var o; try { o = JSON.parse(ev.data); } catch (e) { return; }
      if (o && o.error) {
        var m = outbox.filter(function (x) { return x.via === 'ws' && x.state === 'sending'; })[0];
        if (m) markFailed(m, String(o.error)); else showError(String(o.error));
        return;
      }
      addItem(o, gen);
      if (o && o.from === 'agent') reportRead();
    };
    socket.onerror = function () {};
    socket.onclose = function () {
      if (ws !== socket) return;
      ws = null;
      if (!opened && ++wsFailures >= 2) { transport = 'sse'; sseFailures = 0; }
      connectionLost();
    };
  }

  function openEventSource() {
    if (!('EventSource' in window)) { transport = 'ws'; connectionLost(); return; }
    var gen = generation, opened = false;
    var source = new EventSource('/v1/conversations/' + encodeURIComponent(conv.conversation) + '/events?token=' +
      encodeURIComponent(conv.token) + '&after=' + maxSeq);
    es = source;
    source.onopen = function () { if (es !== source) return; opened = true; sseFailures = 0; goneLive(); };
    source.onmessage = function (ev) {
      if (es !== source) return;
      var o; try { o = JSON.parse(ev.data); } catch (e) { return; }
      addItem(o, gen);
    };
    source.onerror = function () {
      if (es !== source) return;
      source.close();
      es = null;
      // The browser would reconnect by itself; we do it ourselves, from maxSeq, with back-off.
      if (!opened && ++sseFailures >= 2) { transport = 'ws'; wsFailures = 0; }
      connectionLost();
    };
  }

  function goneLive() {
    live = true;
    catchUpFailures = 0;
    document.body.setAttribute('data-transport', es ? 'sse' : 'ws');
    document.body.setAttribute('data-connects', String(Number(document.body.getAttribute('data-connects') || 0) + 1));
    attempt = 0;
    showBanner(null);
    flushOutbox();
  }

  function connectionLost() {
    live = false;
    showBanner('reconnecting');
    // Messages in flight on the socket that closed go by POST meanwhile (the same ids).
    outbox.forEach(function (m) { if (m.via === 'ws' && m.state === 'sending') trySend(m); });
    clearTimeout(reconnectTimer);
    var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(attempt, 5)));
    attempt++;
    delay = delay / 2 + Math.random() * delay / 2;
    var gen = generation;
    reconnectTimer = setTimeout(function () {
      if (gen !== generation) return;
      catchUp().then(function (result) {
        if (gen !== generation || result === 'renumbered') return;
        if (result === 'invalid') { startNew(); return; }
        // A server that cannot answer for the history yet (starting, stopping) is tried
        // again later; after a few tries the live stream is opened all the same.
        if (result === 'error' && ++catchUpFailures < 3) { connectionLost(); return; }
        catchUpFailures = 0;
        connect();
      });
    }, delay);
  }

  function closeTransports() {
    clearTimeout(reconnectTimer);
    if (ws) { var w = ws; ws = null; try { w.close(); } catch (e) {} }
    if (es) { var s = es; es = null; try { s.close(); } catch (e) {} }
  }

  function createConversation() {
    var gen = generation;
    return fetch('/v1/conversations', { method: 'POST' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (body) {
      if (gen !== generation) return;
      if (!body || typeof body.conversation !== 'string' || typeof body.token !== 'string') throw new Error('bad answer');
      conv = { conversation: body.conversation, token: body.token, lastSeq: 0 };
      save();
      showBanner(null);
      connect();
    }).catch(function () {
      if (gen !== generation) return;
      showBanner('startFailed');
      var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(attempt, 5)));
      attempt++;
      reconnectTimer = setTimeout(createConversation, delay / 2 + Math.random() * delay / 2);
    });
  }

  function resetView() {
    seen = {}; maxSeq = 0; lastCustomerSeq = 0;
    outbox.forEach(function (m) { clearTimeout(m.timer); });
    outbox = [];
    current = { state: 'bot', position: null, wait: null, agent: null, ticket: null, seq: 0 };
    while (log.firstChild) log.removeChild(log.firstChild);
    renderState();
  }

  function startNew() {
    generation++;
    closeTransports();
    storageSet(STORE, null);
    conv = null;
    resetView();
    attempt = 0;
    createConversation();
  }

  function start() {
    // ?transport=sse starts with Server-Sent Events (and POST) instead of the WebSocket.
    if (/[?&]transport=sse(&|$)/.test(location.search)) transport = 'sse';
    applyLang();
    autosize();
    conv = load();
    if (!conv) { createConversation(); return; }
    showBanner('connecting');
    var gen = generation;
    catchUp().then(function (result) {
      if (gen !== generation || result === 'renumbered') return;
      if (result === 'invalid') { startNew(); return; }
      if (result === 'ok') showBanner(null);
      connect();
    });
  }

  // ---- controls -----------------------------------------------------------------------------
  $('composer').addEventListener('submit', function (e) {
    e.preventDefault();
    var text = input.value;
    if (!text.replace(/\s+/g, '')) return;
    if (new TextEncoder().encode(text.trim()).length > 4096) { showError(t('tooLong')); return; }
    input.value = '';
    autosize();
    sendText(text);
    input.focus();
  });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      $('composer').requestSubmit ? $('composer').requestSubmit() : $('send').click();
    }
  });
  function autosize() {
    input.style.height = 'auto';
    input.style.height = Math.min(140, Math.max(44, input.scrollHeight + 2)) + 'px';
  }
  input.addEventListener('input', autosize);
  // The agent sees that the customer is typing (at most every 3 s) and has read their replies.
  var lastTyping = 0, lastRead = 0;
  function signal(o) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(o)); }
  input.addEventListener('input', function () {
    var now = Date.now();
    if (input.value.trim() && now - lastTyping > 3000) { lastTyping = now; signal({ typing: true }); }
  });
  function reportRead() {
    if (document.visibilityState !== 'visible' || maxSeq <= lastRead) return;
    lastRead = maxSeq;
    signal({ read: maxSeq });
  }
  document.addEventListener('visibilitychange', reportRead);
  rating.addEventListener('click', function (e) {
    var b = e.target.closest ? e.target.closest('button[data-score]') : null;
    if (!b || b.disabled) return;
    var n = Number(b.getAttribute('data-score'));
    rating.querySelectorAll('button').forEach(function (x) {
      x.classList.toggle('lit', Number(x.getAttribute('data-score')) <= n);
      x.disabled = true;
    });
    sendText(String(n));
  });
  $('lang').addEventListener('change', function () {
    lang = T[this.value] ? this.value : 'en';
    storageSet(LANG_STORE, lang);
    applyLang();
  });
  $('newchat').addEventListener('click', function () { startNew(); input.focus(); });
  window.addEventListener('online', function () {
    if (!live && conv) { clearTimeout(reconnectTimer); attempt = 0; connectionLost(); }
  });

  start();
})();
</script>
</body>
</html>
"""#
}
