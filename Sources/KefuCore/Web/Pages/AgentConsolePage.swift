/// The agent console served at `GET /agent/`: one self-contained HTML document (inline CSS and
/// plain JavaScript, no external assets), a client of the agent protocol over `/v1/agent/ws`
/// (docs/HTTP.md, docs/PROTOCOL.md).
///
/// Commands go through one queue (the server answers in order; `LIST` and `SHOW` answers end
/// with `.`; lines starting with `* ` are pushes). It shows the live queue, the cases the agent
/// holds as tabs with unread counts, the selected case's packet, live chat with replies, notes,
/// canned replies, transfer, release and resolve. A dropped socket logs in again with the
/// credentials kept in memory only, then lists and shows the open cases again. Every text the
/// server sends is set with `textContent`.
public enum AgentConsolePage {
    public static let html: String = #"""
<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>客服工作台 · Kefu agent console</title>
<style>
:root { --ink: #1b1f24; --muted: #5b6570; --line: #d8dde3; --brand: #1f3a5f; --accent: #1f6feb; --ok: #237a3b;
        --bad: #b42318; --bg: #eef1f4; --panel: #fff; }
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body { font: 14px/1.45 system-ui, -apple-system, "PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
       color: var(--ink); background: var(--bg); }
button, input, textarea, select { font: inherit; }
button { cursor: pointer; border-radius: 6px; border: 1px solid #b9c2cc; background: #f6f8fa; color: var(--ink); padding: 5px 10px; min-height: 32px; }
button:hover { background: #eaeef2; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; font-weight: 600; }
button.primary:hover { background: #195fcc; }
button.danger { color: var(--bad); border-color: #e3a29c; }
button:disabled { opacity: .5; cursor: default; }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
input, textarea { border: 1px solid #b9c2cc; border-radius: 6px; padding: 6px 8px; background: #fff; color: var(--ink); min-height: 32px; }
header { display: flex; align-items: center; gap: 12px; padding: 8px 16px; background: var(--brand); color: #fff; }
header h1 { font-size: 16px; margin: 0; flex: 1; }
header .me { font-size: 13px; opacity: .9; }
header button { background: #2b4d78; color: #fff; border-color: #8aa2c2; }
#conn { display: inline-block; width: 9px; height: 9px; border-radius: 50%; background: #9aa4ae; margin-right: 6px; vertical-align: 1px; }
#conn.up { background: #3fb950; }
#conn.down { background: #f85149; }
#status { min-height: 28px; padding: 4px 16px; font-size: 13px; background: #fff; border-bottom: 1px solid var(--line); color: var(--muted);
          white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#status.error { background: #fde8e8; color: #8a1c1c; }
#status.warn { background: #fff3d6; color: #6b4300; }
#login { max-width: 360px; margin: 10vh auto; background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 24px; }
#login h2 { margin: 0 0 16px; font-size: 18px; }
#login label { display: block; margin: 10px 0 4px; color: var(--muted); }
#login input { width: 100%; }
#login button { margin-top: 16px; width: 100%; min-height: 38px; }
#login-error { color: var(--bad); min-height: 20px; margin-top: 10px; }
#console { display: none; height: calc(100vh - 80px); grid-template-columns: minmax(320px, 420px) 1fr; gap: 12px; padding: 12px; }
#console.on { display: grid; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; min-height: 0; display: flex; flex-direction: column; }
.panel h2 { font-size: 14px; margin: 0; padding: 8px 12px; border-bottom: 1px solid var(--line); display: flex; align-items: center; gap: 8px; }
.panel h2 .grow { flex: 1; }
.count { display: inline-block; min-width: 20px; padding: 0 6px; border-radius: 10px; background: #eaeef2; color: var(--muted); font-size: 12px; text-align: center; }
#queue-list { overflow-y: auto; flex: 1; }
.ticket { padding: 8px 12px; border-bottom: 1px solid #eceff2; display: grid; grid-template-columns: 1fr auto; gap: 2px 8px; }
.ticket.selected { background: #eef4ff; }
.ticket.mine { border-left: 3px solid var(--ok); }
.ticket .top { display: flex; flex-wrap: wrap; gap: 4px 8px; align-items: center; }
.ticket .id { font-weight: 600; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.ticket .summary { grid-column: 1 / -1; color: #333; overflow-wrap: anywhere; }
.ticket .acts { display: flex; gap: 6px; align-items: start; }
.tag { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px; background: #eaeef2; color: #3d4650; }
.tag.p-high { background: #fde8e8; color: #8a1c1c; font-weight: 600; }
.tag.new { background: #d2f4dc; color: #14532d; font-weight: 700; }
.tag.emotion-high, .tag.emotion-upset { background: #fde8e8; color: #8a1c1c; }
.tag.emotion-concerned { background: #fff3d6; color: #6b4300; }
.tag.wait { background: #e8f0fe; color: #1a4480; }
.empty { padding: 16px 12px; color: var(--muted); }
#right { display: flex; flex-direction: column; min-height: 0; gap: 8px; }
#tabs { display: flex; flex-wrap: wrap; gap: 6px; }
#tabs button { background: #fff; }
#tabs button[aria-selected="true"] { background: var(--brand); color: #fff; border-color: var(--brand); }
#tabs .unread { display: inline-block; margin-left: 6px; min-width: 18px; padding: 0 5px; border-radius: 9px; background: var(--bad); color: #fff; font-size: 12px; }
#case { flex: 1; min-height: 0; }
#case-empty { padding: 24px; color: var(--muted); }
#case-body { display: none; flex: 1; min-height: 0; grid-template-columns: 1fr minmax(240px, 320px); }
#case-body.on { display: grid; }
#case-main { display: flex; flex-direction: column; min-height: 0; border-right: 1px solid var(--line); }
#case-side { overflow-y: auto; padding: 10px 12px; }
#case-side h3 { font-size: 13px; margin: 12px 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .02em; }
#case-side h3:first-child { margin-top: 0; }
#case-meta { display: flex; flex-wrap: wrap; gap: 4px; }
#case-summary { white-space: pre-wrap; overflow-wrap: anywhere; }
#case-facts { margin: 0; padding-left: 18px; }
.turn { border-top: 1px dashed #e1e5ea; padding: 4px 0; font-size: 13px; }
.turn .cands { color: var(--muted); }
.hist { font-size: 12px; color: #3d4650; border-top: 1px dashed #e1e5ea; padding: 3px 0; overflow-wrap: anywhere; }
#transcript { flex: 1; overflow-y: auto; padding: 10px 12px; display: flex; flex-direction: column; gap: 6px; background: #fafbfc; }
.line { max-width: 80%; padding: 6px 10px; border-radius: 10px; white-space: pre-wrap; overflow-wrap: anywhere; }
.line .meta { display: block; font-size: 11px; color: var(--muted); }
.line.customer { align-self: flex-start; background: #fff; border: 1px solid var(--line); }
.line.bot { align-self: flex-start; background: #f1f3f5; border: 1px dashed #c9d0d7; color: #3d4650; }
.line.agent { align-self: flex-end; background: #e7f6ec; border: 1px solid #9fd3ae; }
#case-actions { border-top: 1px solid var(--line); padding: 8px 12px; display: flex; flex-direction: column; gap: 6px; }
#case-actions .row { display: flex; gap: 6px; align-items: flex-end; flex-wrap: wrap; }
#reply { flex: 1; min-width: 200px; min-height: 56px; max-height: 160px; resize: vertical; }
#canned { display: flex; flex-wrap: wrap; gap: 4px; }
#canned[hidden] { display: none; }
#canned button { font-size: 12px; min-height: 26px; padding: 2px 8px; }
#note { flex: 1; min-width: 140px; }
#side-actions .row { display: flex; gap: 6px; margin-bottom: 6px; }
#side-actions input { flex: 1; min-width: 0; }
#side-actions { padding-bottom: 4px; border-bottom: 1px solid var(--line); margin-bottom: 8px; }
#case-actions #claim-row:not(.on) { display: none; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 900px) {
  #console { grid-template-columns: 1fr; height: auto; }
  #queue-list { max-height: 40vh; }
  #case-body.on { display: flex; flex-direction: column; }
  #case-main { border-right: 0; }
  #transcript { max-height: 50vh; }
}
</style>
</head>
<body>
<header>
  <h1>客服工作台 <span style="font-weight:400;opacity:.8">Kefu</span></h1>
  <span class="me"><span id="conn" aria-hidden="true"></span><span id="me-name">未登录</span></span>
  <button id="logout" type="button" hidden>退出</button>
</header>
<div id="status" role="status" aria-live="polite"></div>

<form id="login" autocomplete="off">
  <h2>坐席登录 · Agent login</h2>
  <label for="login-name">账号 Name</label>
  <input id="login-name" name="name" required autocomplete="username" autofocus>
  <label for="login-password">密码 Password</label>
  <input id="login-password" name="password" type="password" required autocomplete="current-password">
  <button id="login-submit" class="primary" type="submit">登录 Log in</button>
  <div id="login-error" role="alert"></div>
</form>

<div id="console">
  <section class="panel" aria-labelledby="queue-title">
    <h2><span id="queue-title" class="grow">排队 Queue <span id="queue-count" class="count">0</span></span>
      <button id="refresh" type="button" title="LIST">刷新</button>
      <button id="next" class="primary" type="button" title="NEXT">接下一个</button></h2>
    <div id="queue-list"></div>
  </section>
  <div id="right">
    <div id="tabs" role="tablist" aria-label="我的会话 My cases"></div>
    <section id="case" class="panel">
      <div id="case-empty">选择一个会话，或点「接下一个」。</div>
      <div id="case-body">
        <div id="case-main">
          <h2><span id="case-title" class="grow"></span><span id="case-state" class="tag"></span></h2>
          <div id="transcript" aria-live="polite"></div>
          <div id="case-actions">
            <div id="claim-row" class="row"><button id="claim-this" class="primary" type="button">认领此会话 Claim</button>
              <span class="tag">认领后才显示完整号码</span></div>
            <div id="work">
              <div id="canned" hidden aria-label="常用回复 Canned replies"></div>
              <div class="row" style="margin-top:6px">
                <label class="sr" for="reply">回复 Reply</label>
                <textarea id="reply" placeholder="回复客户（Enter 发送，Shift+Enter 换行）"></textarea>
                <button id="reply-send" class="primary" type="button">发送</button>
              </div>
              <div class="row" style="margin-top:6px">
                <label class="sr" for="note">内部备注 Note</label>
                <input id="note" placeholder="内部备注（客户看不到，Enter 添加）">
                <button id="note-add" type="button">添加备注</button>
              </div>
            </div>
          </div>
        </div>
        <aside id="case-side">
          <div id="side-actions">
            <h3>处理 Actions</h3>
            <div class="row">
              <label class="sr" for="resolve-note">结单备注 Resolve note</label>
              <input id="resolve-note" placeholder="结单备注（可选）">
              <button id="resolve" class="danger" type="button">结单</button>
            </div>
            <div class="row">
              <label class="sr" for="transfer-to">转给 Transfer to</label>
              <input id="transfer-to" placeholder="转给坐席（账号）">
              <button id="transfer" type="button">转交</button>
            </div>
            <div class="row"><button id="release" type="button">放回队列 Release</button></div>
          </div>
          <h3>概况 Case</h3>
          <div id="case-meta"></div>
          <h3>摘要 Summary</h3>
          <div id="case-summary"></div>
          <h3>要点 Facts</h3>
          <ul id="case-facts"></ul>
          <h3>机器人理解 Understood</h3>
          <div id="case-turns"></div>
          <h3>记录 History</h3>
          <div id="case-history"></div>
        </aside>
      </div>
    </section>
  </div>
</div>

<script>
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function oneLine(s) { return String(s).replace(/[\r\n\u2028\u2029\u0085\u000b\u000c]+/g, ' ').replace(/^\s+|\s+$/g, ''); }
  function duration(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + ' 秒';
    if (s < 3600) return Math.floor(s / 60) + ' 分 ' + (s % 60) + ' 秒';
    return Math.floor(s / 3600) + ' 小时 ' + Math.floor(s % 3600 / 60) + ' 分';
  }
  function clock(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso || '');
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  }
  var REASONS = { requested: '客户要求', complaint: '投诉', emotion: '情绪激动', threat: '威胁', safety: '人身安全',
                  money: '资金风险', repeated_failure: '多次未解决', not_helped: '未能解决' };
  function reasonLabel(r) { return REASONS[r] ? REASONS[r] + ' (' + r + ')' : String(r || ''); }

  // ---- state --------------------------------------------------------------------------------
  var S = {
    ws: null, name: null, password: null, online: false, wanted: false, attempt: 0, timer: null,
    pending: [],          // commands awaiting their answer, in order
    collect: null,        // a LIST / SHOW answer being read up to its "."
    queue: [], listedAt: 0,
    cases: {},            // id -> {id, show, live: [], unread, shownAt}
    open: [],             // ids the agent holds, in tab order
    selected: null,
    fresh: {},            // ids announced by * NEW and not looked at yet
    canned: null
  };

  var statusTimer = null;
  function status(text, kind) {
    var s = $('status');
    s.textContent = text || '';
    s.className = kind || '';
    s.title = text || '';
    clearTimeout(statusTimer);
    if (kind !== 'error' && kind !== 'warn' && text) statusTimer = setTimeout(function () { if (s.textContent === text) s.textContent = ''; }, 8000);
  }
  function setConn(state) { $('conn').className = state; }

  // ---- the socket and its command queue -----------------------------------------------------
  function send(line) {
    return new Promise(function (resolve) {
      var ws = S.ws;
      if (!ws || ws.readyState !== 1) { resolve({ ok: false, error: '未连接 (not connected)', head: '' }); return; }
      var verb = line.split(' ')[0].toUpperCase();
      S.pending.push({ line: line, verb: verb, multi: verb === 'LIST' || verb === 'SHOW', resolve: resolve });
      ws.send(line);
    });
  }
  function finish(entry, answer) {
    if (!answer.ok && entry.verb !== 'AUTH') status(entry.verb + ': ' + answer.head, 'error');
    entry.resolve(answer);
  }
  function onFrame(data) {
    if (typeof data !== 'string') return;
    var text = data.replace(/\r?\n$/, '');
    var lines = text.split(/\r?\n/);
    for (var i = 0; i < lines.length; i++) onLine(lines[i]);
  }
  function onLine(line) {
    if (line.slice(0, 2) === '* ' || line === '*') { onPush(line.slice(2)); return; }
    if (S.collect) {
      if (line === '.') { var c = S.collect; S.collect = null; finish(c.entry, { ok: true, head: c.head, lines: c.lines }); }
      else S.collect.lines.push(line);
      return;
    }
    if (line === '') return;
    var entry = S.pending.shift();
    if (!entry) { status('服务器: ' + line, /^ERR/.test(line) ? 'error' : ''); return; }
    if (/^OK\b/.test(line)) {
      if (entry.multi) { S.collect = { entry: entry, head: line, lines: [] }; return; }
      finish(entry, { ok: true, head: line });
    } else {
      finish(entry, { ok: false, head: line, error: line.replace(/^ERR\s*/, '') });
    }
  }
  function failPending(why) {
    var waiting = S.pending; S.pending = []; S.collect = null;
    waiting.forEach(function (e) { e.resolve({ ok: false, error: why, head: 'ERR ' + why }); });
  }

  function wsURL() { return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/agent/ws'; }

  // Opens the socket and logs in; resolves with the AUTH answer (or a failure to connect).
  function connect() {
    return new Promise(function (resolve) {
      var socket, settled = false;
      function done(a) { if (!settled) { settled = true; resolve(a); } }
      try { socket = new WebSocket(wsURL()); } catch (e) { done({ ok: false, error: String(e), network: true }); return; }
      S.ws = socket;
      S.pending = []; S.collect = null;
      socket.onopen = function () {
        send('AUTH ' + oneLine(S.name) + ' ' + oneLine(S.password)).then(done);
      };
      socket.onmessage = function (ev) { if (S.ws === socket) onFrame(ev.data); };
      socket.onerror = function () {};
      socket.onclose = function () {
        if (S.ws !== socket) return;
        S.ws = null;
        failPending('连接已断开 (connection closed)');
        done({ ok: false, error: '无法连接服务器 (cannot connect)', network: true });
        if (S.online) { S.online = false; dropped(); }
      };
    });
  }

  function dropped() {
    setConn('down');
    if (!S.wanted) return;
    var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(S.attempt, 5)));
    S.attempt++;
    delay = delay / 2 + Math.random() * delay / 2;
    status('连接断开，' + Math.round(delay / 1000) + ' 秒后重新登录… (reconnecting)', 'warn');
    clearTimeout(S.timer);
    S.timer = setTimeout(relogin, delay);
  }

  function relogin() {
    if (!S.wanted) return;
    status('正在重新连接… (reconnecting)', 'warn');
    connect().then(function (a) {
      if (a.ok) { loggedIn(true); return; }
      if (a.network || /too many|busy|retry|try again/i.test(a.error || a.head || '')) {
        if (S.ws) { try { S.ws.close(); } catch (e) {} S.ws = null; }
        dropped();   // try again later, with back-off
        return;
      }
      logout(a.head || a.error);
    });
  }

  function loggedIn(again) {
    S.online = true;
    document.body.setAttribute('data-logins', String(Number(document.body.getAttribute('data-logins') || 0) + 1));
    S.attempt = 0;
    setConn('up');
    $('me-name').textContent = S.name;
    $('login').style.display = 'none';
    $('console').classList.add('on');
    $('logout').hidden = false;
    status(again ? '已重新连接 (reconnected)' : '已登录 (logged in) ' + S.name);
    if (!again) loadCanned();
    refreshList().then(function () {
      // Everything the agent holds is read again: whatever came while the socket was down.
      S.open.forEach(function (id) { show(id); });
      if (S.selected && S.open.indexOf(S.selected) < 0) show(S.selected);
    });
    if (!again) $('next').focus();
  }

  function logout(message) {
    S.wanted = false; S.online = false;
    clearTimeout(S.timer);
    var ws = S.ws; S.ws = null;
    if (ws) { try { if (ws.readyState === 1) ws.send('QUIT'); ws.close(); } catch (e) {} }
    failPending('logged out');
    S.name = null; S.password = null;
    S.cases = {}; S.open = []; S.selected = null; S.queue = []; S.fresh = {};
    $('console').classList.remove('on');
    $('login').style.display = '';
    $('logout').hidden = true;
    $('me-name').textContent = '未登录';
    $('login-password').value = '';
    $('login-error').textContent = message || '';
    setConn(message ? 'down' : '');
    renderQueue(); renderTabs(); renderCase();
    $('login-name').focus();
  }

  // ---- pushes -------------------------------------------------------------------------------
  function onPush(text) {
    var m;
    if ((m = /^NEW (\S+)\s*(.*)$/.exec(text))) {
      S.fresh[m[1]] = true;
      status('新会话 ' + m[1] + ' (new case)');
      refreshList();
    } else if ((m = /^MESSAGE (\S+) ?([\s\S]*)$/.exec(text))) {
      var c = caseFor(m[1]);
      c.live.push({ from: 'customer', text: m[2], time: new Date().toISOString(), live: true });
      if (S.open.indexOf(m[1]) < 0) refreshList();
      if (S.selected === m[1]) { renderTranscript(true); } else { c.unread++; renderTabs(); }
    } else if ((m = /^TYPING (\S+)$/.exec(text))) {
      var typing = caseFor(m[1]);
      typing.typingUntil = Date.now() + 6000;
      if (S.selected === m[1]) renderTranscript(false);
      setTimeout(function () { if (S.selected === m[1]) renderTranscript(false); }, 6100);
    } else if ((m = /^READ (\S+) (\d+)$/.exec(text))) {
      caseFor(m[1]).readAt = new Date().toISOString();
      if (S.selected === m[1]) renderTranscript(false);
    } else if ((m = /^TRANSFERRED (\S+) from (.*)$/.exec(text))) {
      caseFor(m[1]).unread++;
      status('会话 ' + m[1] + ' 由 ' + m[2] + ' 转给您 (transferred to you)', 'warn');
      refreshList().then(function () { show(m[1]); });
    } else if ((m = /^(TRANSFERRED|RELEASED) (\S+) (.*)$/.exec(text))) {
      status('会话 ' + m[2] + ' 已被移走：' + m[3], 'warn');
      refreshList();
    } else if (/^TAKEN-OVER/.test(text)) {
      S.wanted = false;     // another console took the session over: do not fight it
      logout('此账号已在别处登录 (logged in elsewhere): ' + text);
    } else if (/^BYE/.test(text)) {
      status('服务器: ' + text, 'warn');
    } else {
      status('* ' + text);
    }
  }

  // ---- queue --------------------------------------------------------------------------------
  function caseFor(id) {
    if (!S.cases[id]) S.cases[id] = { id: id, show: null, live: [], unread: 0 };
    return S.cases[id];
  }

  var listing = null, relisting = null;
  function refreshList() {
    // One LIST at a time; asked for meanwhile, one more after it (the first was sent before
    // whatever changed the queue, so its answer does not show that change).
    if (listing) {
      if (!relisting) relisting = listing.then(function () { relisting = null; return refreshList(); });
      return relisting;
    }
    listing = send('LIST').then(function (a) {
      listing = null;
      if (!a.ok) return;
      var tickets = [];
      (a.lines || []).forEach(function (l) { try { tickets.push(JSON.parse(l)); } catch (e) {} });
      S.queue = tickets;
      S.listedAt = Date.now();
      var mine = tickets.filter(function (t) { return t.state === 'claimed' && t.assignee === S.name; }).map(function (t) { return t.id; });
      var kept = S.open.filter(function (id) { return mine.indexOf(id) >= 0; });
      mine.forEach(function (id) { if (kept.indexOf(id) < 0) { kept.push(id); caseFor(id); } });
      S.open = kept;
      renderQueue();
      renderTabs();
      if (S.selected) renderCase();
    });
    return listing;
  }

  function ticketOf(id) {
    for (var i = 0; i < S.queue.length; i++) if (S.queue[i].id === id) return S.queue[i];
    return null;
  }

  function waitingNow(t) {
    var s = Number(t.waiting_seconds) || 0;
    return t.state === 'waiting' ? s + (Date.now() - S.listedAt) / 1000 : s;
  }

  function emotionOf(t) {
    var e = t.emotion;
    if (e == null) {
      var c = S.cases[t.id];
      e = peakEmotion(c && c.show && c.show.turns);
    }
    if (e == null) return null;
    if (typeof e === 'string') return { level: e };
    return { level: e.level, score: e.score };
  }

  // The strongest emotion the bot read in the case (what the agent should know first).
  function peakEmotion(turns) {
    var best = null;
    (turns || []).forEach(function (turn) {
      var e = turn.emotion;
      if (e && (best === null || Number(e.score) > Number(best.score))) best = e;
    });
    return best;
  }

  function renderQueue() {
    var list = $('queue-list');
    clear(list);
    $('queue-count').textContent = String(S.queue.filter(function (t) { return t.state === 'waiting'; }).length);
    if (!S.queue.length) { list.appendChild(el('div', 'empty', '队列为空 (nobody waiting)')); return; }
    S.queue.forEach(function (t) {
      var row = el('div', 'ticket');
      row.setAttribute('data-id', t.id);
      row.setAttribute('data-state', t.state);
      if (t.id === S.selected) row.classList.add('selected');
      if (t.assignee === S.name) row.classList.add('mine');
      var top = el('div', 'top');
      top.appendChild(el('span', 'id', t.id));
      if (S.fresh[t.id]) top.appendChild(el('span', 'tag new', 'NEW'));
      top.appendChild(el('span', 'tag' + (Number(t.priority) > 0 ? ' p-high' : ''), '优先级 ' + t.priority));
      top.appendChild(el('span', 'tag', reasonLabel(t.reason)));
      var e = emotionOf(t);
      if (e && e.level) top.appendChild(el('span', 'tag emotion-' + e.level, '情绪 ' + e.level + (e.score != null ? ' ' + Number(e.score).toFixed(2) : '')));
      var w = el('span', 'tag wait', (t.state === 'waiting' ? '已等 ' : '等待了 ') + duration(waitingNow(t)));
      w.setAttribute('data-wait', t.id);
      top.appendChild(w);
      if (t.state === 'claimed') top.appendChild(el('span', 'tag', '处理人 ' + (t.assignee || '?')));
      row.appendChild(top);
      var acts = el('div', 'acts');
      var view = el('button', 'view', '查看');
      view.type = 'button';
      view.setAttribute('aria-label', '查看 ' + t.id);
      view.addEventListener('click', function () { select(t.id); });
      acts.appendChild(view);
      if (t.state === 'waiting') {
        var claim = el('button', 'claim primary', '认领');
        claim.type = 'button';
        claim.setAttribute('data-id', t.id);
        claim.setAttribute('aria-label', '认领 ' + t.id);
        claim.addEventListener('click', function () { claimCase(t.id); });
        acts.appendChild(claim);
      }
      row.appendChild(acts);
      row.appendChild(el('div', 'summary', t.summary || ''));
      list.appendChild(row);
    });
  }

  function tickWaits() {
    var spans = document.querySelectorAll('[data-wait]');
    for (var i = 0; i < spans.length; i++) {
      var t = ticketOf(spans[i].getAttribute('data-wait'));
      if (t && t.state === 'waiting') spans[i].textContent = '已等 ' + duration(waitingNow(t));
    }
  }

  // ---- tabs and the selected case -----------------------------------------------------------
  function renderTabs() {
    var tabs = $('tabs');
    clear(tabs);
    S.open.forEach(function (id) {
      var c = caseFor(id);
      var b = el('button', null, id);
      b.type = 'button';
      b.setAttribute('role', 'tab');
      b.setAttribute('data-id', id);
      b.setAttribute('aria-selected', id === S.selected ? 'true' : 'false');
      if (c.unread) {
        var u = el('span', 'unread', c.unread);
        u.setAttribute('aria-label', c.unread + ' 条未读');
        b.appendChild(u);
      }
      b.addEventListener('click', function () { select(id); });
      tabs.appendChild(b);
    });
    if (!S.open.length) tabs.appendChild(el('span', 'empty', '我的会话：无 (no open cases)'));
  }

  function select(id) {
    S.selected = id;
    delete S.fresh[id];
    caseFor(id).unread = 0;
    renderTabs();
    renderQueue();
    renderCase();
    show(id);
  }

  function show(id) {
    return send('SHOW ' + id).then(function (a) {
      if (!a.ok) return;
      var packet = null;
      try { packet = JSON.parse((a.lines || []).join('\n')); } catch (e) { status('SHOW: 无法解析 (unreadable answer)', 'error'); return; }
      var c = caseFor(id);
      // The answer holds every line up to this moment, the pushes before it included: they are
      // replaced, and lines pushed after it are added to it.
      c.show = packet;
      c.live = [];
      if (S.selected === id) renderCase();
    });
  }

  function fromLabel(from) {
    if (from === 'customer') return { cls: 'customer', label: '客户' };
    if (from === 'bot') return { cls: 'bot', label: '机器人' };
    if (/^agent:/.test(from)) return { cls: 'agent', label: '坐席 ' + from.slice(6) };
    return { cls: 'bot', label: String(from) };
  }

  function transcriptLines(c) {
    var out = [], seen = {};
    ((c.show && c.show.transcript) || []).forEach(function (l) {
      var key = String(l.time) + '\u0000' + String(l.text);
      if (seen[key]) return;
      seen[key] = true;
      out.push(l);
    });
    return out.concat(c.live);
  }

  function renderTranscript(stick) {
    var box = $('transcript');
    var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    clear(box);
    var c = S.selected && S.cases[S.selected];
    if (!c) return;
    transcriptLines(c).forEach(function (l) {
      var f = fromLabel(l.from);
      var line = el('div', 'line ' + f.cls + (l.live ? ' live' : ''));
      line.setAttribute('data-from', f.cls);
      line.appendChild(el('span', 'meta', f.label + (l.time ? ' · ' + clock(l.time) : '')));
      line.appendChild(document.createTextNode(String(l.text)));
      box.appendChild(line);
    });
    if (c.readAt) box.appendChild(el('div', 'meta receipt', '客户已读 (read) · ' + clock(c.readAt)));
    if (c.typingUntil && c.typingUntil > Date.now()) box.appendChild(el('div', 'meta typing', '客户正在输入… (typing)'));
    if (atBottom || stick) box.scrollTop = box.scrollHeight;
  }

  function renderCase() {
    var id = S.selected;
    var c = id && S.cases[id];
    $('case-empty').style.display = id ? 'none' : '';
    $('case-body').classList.toggle('on', !!id);
    if (!id) return;
    var t = (c && c.show) || ticketOf(id) || { id: id };
    var listed = ticketOf(id) || {};
    var mine = (listed.assignee || t.assignee) === S.name && (listed.state || t.state) === 'claimed';
    var who = String(t.customer || '');
    $('case-title').textContent = id + (who ? ' · ' + (who.length > 28 ? who.slice(0, 27) + '…' : who) : '');
    $('case-title').title = id + (who ? ' · ' + who : '');
    var st = listed.state || t.state || '';
    $('case-state').textContent = st === 'claimed' ? '处理中 ' + (listed.assignee || t.assignee || '') : st === 'waiting' ? '排队中' : st === 'resolved' ? '已结单' : st;
    $('claim-row').classList.toggle('on', st === 'waiting');
    $('work').style.display = mine ? '' : 'none';
    $('side-actions').style.display = mine ? '' : 'none';

    var meta = $('case-meta');
    clear(meta);
    function tag(text, cls) { meta.appendChild(el('span', 'tag' + (cls ? ' ' + cls : ''), text)); }
    if (t.reason) tag('原因 ' + reasonLabel(t.reason));
    if (t.priority != null) tag('优先级 ' + t.priority, Number(t.priority) > 0 ? 'p-high' : '');
    if (t.channel) tag('渠道 ' + t.channel);
    if (t.topic) tag('主题 ' + t.topic);
    var turns = (c && c.show && c.show.turns) || [];
    var peak = peakEmotion(turns);
    if (peak) tag('情绪 ' + peak.level + ' ' + Number(peak.score).toFixed(2), 'emotion-' + peak.level);
    if (t.waiting_seconds != null) tag('等待 ' + duration(t.state === 'waiting' ? waitingNow(listed.id ? listed : t) : t.waiting_seconds), 'wait');
    if (t.created) tag('创建 ' + clock(t.created));
    if (t.rating != null) tag('评分 ' + t.rating);

    $('case-summary').textContent = t.summary || '';
    var facts = $('case-facts');
    clear(facts);
    (t.facts || []).forEach(function (f) { facts.appendChild(el('li', null, f)); });
    if (!(t.facts || []).length) facts.appendChild(el('li', null, '—'));

    var tb = $('case-turns');
    clear(tb);
    turns.forEach(function (turn) {
      var d = el('div', 'turn');
      d.appendChild(el('div', null, clock(turn.time) + '  ' + turn.topic + ' ' + Number(turn.confidence).toFixed(2) + ' → ' + turn.route +
        (turn.emotion ? '；情绪 ' + turn.emotion.level + ' ' + Number(turn.emotion.score).toFixed(2) : '')));
      var cands = (turn.candidates || []).map(function (x) { return x.entry + '（' + x.topic + '）' + Number(x.confidence).toFixed(2); });
      if (cands.length) d.appendChild(el('div', 'cands', '候选：' + cands.join('，')));
      tb.appendChild(d);
    });
    if (!turns.length) tb.appendChild(el('div', 'empty', c && c.show ? '—' : '载入中…'));

    var hb = $('case-history');
    clear(hb);
    ((c && c.show && c.show.history) || []).forEach(function (h) {
      hb.appendChild(el('div', 'hist', clock(h.time) + '  ' + h.action + (h.agent ? ' · ' + h.agent : '') + (h.note ? '：' + h.note : '')));
    });
    renderTranscript(false);
  }

  // ---- actions ------------------------------------------------------------------------------
  function claimCase(id) {
    return send('CLAIM ' + id).then(function (a) {
      if (!a.ok) { refreshList(); return; }
      status(a.head);
      delete S.fresh[id];
      return refreshList().then(function () { select(id); $('reply').focus(); });
    });
  }

  function reply() {
    var id = S.selected, box = $('reply');
    var text = oneLine(box.value);
    if (!id || !text) return;
    if (new TextEncoder().encode('REPLY ' + id + ' ' + text).length > 4000) { status('回复太长，请分几条发送 (reply too long)', 'error'); return; }
    $('reply-send').disabled = true;
    send('REPLY ' + id + ' ' + text).then(function (a) {
      $('reply-send').disabled = false;
      if (!a.ok) return;     // the text stays in the box to send again
      if (box.value && oneLine(box.value) === text) box.value = '';
      caseFor(id).live.push({ from: 'agent:' + S.name, text: text, time: new Date().toISOString(), live: true });
      if (S.selected === id) renderTranscript(true);
      status(a.head);
      box.focus();
    });
  }

  function simple(line, after) {
    return send(line).then(function (a) {
      if (a.ok) { status(a.head); if (after) after(a); }
      return a;
    });
  }

  function closeCase(id) {
    S.open = S.open.filter(function (x) { return x !== id; });
    delete S.cases[id];
    if (S.selected === id) S.selected = S.open[0] || null;
    renderTabs();
    refreshList().then(function () { if (S.selected) select(S.selected); else renderCase(); });
  }

  $('login').addEventListener('submit', function (e) {
    e.preventDefault();
    var name = oneLine($('login-name').value), password = oneLine($('login-password').value);
    if (!name || !password) return;
    if (/\s/.test(name)) { $('login-error').textContent = '账号不能含空格 (no spaces in the name)'; return; }
    $('login-submit').disabled = true;
    $('login-error').textContent = '';
    S.name = name; S.password = password; S.wanted = true;
    connect().then(function (a) {
      $('login-submit').disabled = false;
      if (a.ok) { $('login-password').value = ''; loggedIn(false); return; }
      var ws = S.ws; S.ws = null; S.wanted = false;
      if (ws) { try { ws.close(); } catch (x) {} }
      S.name = null; S.password = null;
      $('login-error').textContent = a.head || a.error || '登录失败';
      $('login-password').focus();
    });
  });
  $('logout').addEventListener('click', function () { logout(''); });
  $('refresh').addEventListener('click', function () { refreshList(); });
  $('next').addEventListener('click', function () {
    send('NEXT').then(function (a) {
      if (!a.ok) return;
      var m = /^OK (\S+) claimed/.exec(a.head);
      if (!m) { status('没有排队的会话 (none waiting)'); return; }
      status(a.head);
      refreshList().then(function () { select(m[1]); $('reply').focus(); });
    });
  });
  $('claim-this').addEventListener('click', function () { if (S.selected) claimCase(S.selected); });
  $('reply-send').addEventListener('click', reply);
  $('reply').addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); reply(); }
  });
  function addNote() {
    var id = S.selected, text = oneLine($('note').value);
    if (!id || !text) return;
    simple('NOTE ' + id + ' ' + text, function () { $('note').value = ''; status('备注已添加 (note added)'); show(id); });
  }
  $('note-add').addEventListener('click', addNote);
  $('note').addEventListener('keydown', function (e) { if (e.key === 'Enter' && !e.isComposing) { e.preventDefault(); addNote(); } });
  $('transfer').addEventListener('click', function () {
    var id = S.selected, to = oneLine($('transfer-to').value);
    if (!id) return;
    if (!to || /\s/.test(to)) { status('请输入要转给的坐席账号 (agent name)', 'error'); $('transfer-to').focus(); return; }
    simple('TRANSFER ' + id + ' ' + to, function () { $('transfer-to').value = ''; closeCase(id); });
  });
  $('transfer-to').addEventListener('keydown', function (e) { if (e.key === 'Enter' && !e.isComposing) { e.preventDefault(); $('transfer').click(); } });
  $('release').addEventListener('click', function () {
    var id = S.selected;
    if (id) simple('RELEASE ' + id, function () { status(id + ' 已放回队列 (released)'); closeCase(id); });
  });
  $('resolve').addEventListener('click', function () {
    var id = S.selected, note = oneLine($('resolve-note').value);
    if (!id) return;
    simple('RESOLVE ' + id + (note ? ' ' + note : ''), function () { $('resolve-note').value = ''; closeCase(id); });
  });
  $('resolve-note').addEventListener('keydown', function (e) { if (e.key === 'Enter' && !e.isComposing) { e.preventDefault(); $('resolve').click(); } });

  function loadCanned() {
    var box = $('canned');
    fetch('/v1/agent/canned', { headers: { 'Accept': 'application/json' } }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (body) {
      var list = (body && Array.isArray(body.canned)) ? body.canned : [];
      clear(box);
      list.forEach(function (c) {
        if (!c || typeof c.text !== 'string') return;
        var b = el('button', null, c.title || c.text.slice(0, 12));
        b.type = 'button';
        b.title = c.text;
        b.addEventListener('click', function () {
          var r = $('reply');
          r.value = r.value ? r.value.replace(/\s*$/, ' ') + c.text : c.text;
          r.focus();
        });
        box.appendChild(b);
      });
      box.hidden = !box.children.length;
    }).catch(function () { box.hidden = true; });
  }

  setInterval(function () { if (S.online) refreshList(); }, 10000);
  setInterval(tickWaits, 1000);
  window.addEventListener('online', function () { if (S.wanted && !S.online && !S.ws) { clearTimeout(S.timer); S.attempt = 0; relogin(); } });
  renderTabs();
})();
</script>
</body>
</html>
"""#
}
