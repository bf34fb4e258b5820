/* global document, window, location, fetch, EventSource, URLSearchParams, Node, setTimeout, clearTimeout, setInterval */
/**
 * The Qiao explorer: one vanilla ES module, no build step, no dependencies
 * (the hub may run offline). Every value from the API is written with
 * textContent or setAttribute, never as markup: message fields, reasons and
 * proofs come from member chains and are untrusted.
 *
 * Routes live in the URL hash so a filtered list or a message can be shared:
 *   #/messages?chain=…&status=…&sender=…|receiver=…|account=…
 *   #/message/0x…   #/chains   #/lanes?lane=src>dst   #/payments[/<uetr>]
 */

const STATUSES = ['sent', 'verified', 'committed', 'attested', 'delivered', 'acknowledged', 'failed', 'timed_out', 'refunded', 'quarantined'];
// The forward order of src/domain/status.ts: a late or replayed event never moves a row backwards.
const RANK = { sent: 0, verified: 1, committed: 2, attested: 3, failed: 4, delivered: 5, timed_out: 5, acknowledged: 6, refunded: 6, quarantined: 7 };
const TERMINAL = new Set(['acknowledged', 'refunded', 'quarantined']);
const FILTER_KEYS = ['chain', 'srcChain', 'dstChain', 'lane', 'status', 'sender', 'receiver', 'account', 'txHash', 'since', 'until'];
// Filters without a field in the form (set by links, e.g. from the lanes view): shown as removable chips.
const EXTRA_KEYS = ['srcChain', 'dstChain', 'lane', 'since', 'until'];
// What /messages/stream can filter on; a list filtered on anything else is refreshed by polling instead.
const STREAM_KEYS = new Set(['chain', 'srcChain', 'dstChain', 'lane', 'status', 'sender', 'receiver', 'account']);
const CAIP10 = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}:[-.%a-zA-Z0-9]{1,128}$/;
const PAGE_SIZE = 50;
// Used only when the hub has no /messages/stream: a refresh of the first page.
const POLL_MS = 4000;
const AGE_TICK_MS = 10_000;
const SVG_NS = 'http://www.w3.org/2000/svg';
const CHART_MINUTES = 60;

// ---------------------------------------------------------------- DOM helpers

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

function svg(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  append(el, children);
  return el;
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

const $ = (sel) => document.querySelector(sel);

const thead = (cols, numeric = []) => h('thead', {}, h('tr', {}, cols.map((t) => h('th', { class: numeric.includes(t) ? 'num' : null, text: t }))));

// ----------------------------------------------------------------- formatting

function short(v, head = 8, tail = 6) {
  if (v === null || v === undefined || v === '') return '—';
  const s = String(v);
  return s.length > head + tail + 1 ? `${s.slice(0, head)}…${s.slice(-tail)}` : s;
}

function utc(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  return new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function age(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${hr}h ago`;
  return `${Math.floor(hr / 24)}d ago`;
}

function duration(v) {
  if (v === null || v === undefined || v === '') return '—';
  const n = Number(v);
  if (!Number.isFinite(n)) return '—';
  if (n < 1000) return `${Math.round(n)} ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(1)} s`;
  if (n < 3_600_000) return `${(n / 60_000).toFixed(1)} min`;
  return `${(n / 3_600_000).toFixed(1)} h`;
}

function hhmm(ms) {
  return new Date(ms).toISOString().slice(11, 16);
}

const dash = (v) => (v === null || v === undefined || v === '' ? '—' : String(v));

function badge(status) {
  const known = STATUSES.includes(status) ? status : 'unknown';
  return h('span', { class: `badge s-${known}`, text: status });
}

function hash(v, opts = {}) {
  if (v === null || v === undefined || v === '') return h('span', { class: 'muted', text: '—' });
  return h('span', { class: 'mono', title: String(v), text: opts.full ? String(v) : short(v, opts.head ?? 10, opts.tail ?? 8) });
}

// ------------------------------------------------------------------------ API

class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

async function getJson(path, { signal, acceptStatus = [] } = {}) {
  let res;
  try {
    res = await fetch(path, { headers: { accept: 'application/json' }, signal });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'the hub did not answer');
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (res.ok || acceptStatus.includes(res.status)) {
    if (body === null) throw new ApiError(res.status, 'bad_response', 'the hub answered with something that is not JSON');
    return body;
  }
  const e = body && typeof body === 'object' && body.error ? body.error : {};
  throw new ApiError(res.status, String(e.code ?? `http_${res.status}`), String(e.message ?? `HTTP ${res.status}`), e.field);
}

// A route the hub does not have (yet): an older hub, or one built without it.
const routeMissing = (err) => err instanceof ApiError && (err.status === 404 || err.status === 405 || err.status === 501);

function errorText(err) {
  if (err instanceof ApiError) return err.status === 0 ? 'The hub did not answer.' : `${err.message} (HTTP ${err.status})`;
  return String(err && err.message ? err.message : err);
}

// --------------------------------------------------------------------- routing

function parseHash(hashText) {
  const raw = hashText.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'message' && parts[1]) return { view: 'message', id: decodeURIComponent(parts[1]) };
  if (parts[0] === 'chains') return { view: 'chains' };
  if (parts[0] === 'lanes') return { view: 'lanes', lane: params.get('lane') ?? '' };
  if (parts[0] === 'payments') return { view: 'payments', uetr: parts[1] ? decodeURIComponent(parts[1]) : '' };
  const filters = {};
  for (const k of FILTER_KEYS) {
    const v = params.get(k);
    if (v) filters[k] = v;
  }
  return { view: 'messages', filters };
}

function filterQuery(filters) {
  const qs = new URLSearchParams();
  for (const k of FILTER_KEYS) if (filters[k]) qs.set(k, filters[k]);
  return qs;
}

function messagesHash(filters) {
  const qs = filterQuery(filters).toString();
  return qs ? `#/messages?${qs}` : '#/messages';
}

/** May a row in `from` move to `to`? Mirrors canTransition in src/domain/status.ts. */
function moves(from, to) {
  if (from === to || !(to in RANK)) return false;
  if (!(from in RANK)) return true;
  if (TERMINAL.has(from)) return false;
  if (to === 'quarantined') return from === 'sent' || from === 'verified';
  return RANK[to] > RANK[from];
}

// ------------------------------------------------------------- live updates

/**
 * Server-Sent Events from /messages/stream with the given filters; when the
 * hub has no stream (the route answers 404, so EventSource gives up) `poll`
 * runs every few seconds instead. The header says which.
 */
function openLive(qs, { onTransition, poll, onMode, pollOnly = false }) {
  let closed = false;
  let es = null;
  let timer = null;

  const startPolling = () => {
    onMode('poll');
    const tick = async () => {
      if (closed) return;
      try {
        await poll();
        if (!closed) onMode('poll');
      } catch {
        if (!closed) onMode('poll-error');
      }
      if (!closed) timer = setTimeout(tick, POLL_MS);
    };
    timer = setTimeout(tick, POLL_MS);
  };

  if (pollOnly || typeof EventSource !== 'function') {
    startPolling();
  } else {
    onMode('connecting');
    const q = qs.toString();
    es = new EventSource(`/messages/stream${q ? `?${q}` : ''}`);
    es.addEventListener('open', () => {
      if (!closed) onMode('sse');
    });
    es.addEventListener('transition', (e) => {
      let t;
      try {
        t = JSON.parse(e.data);
      } catch {
        return;
      }
      if (!closed && t && typeof t.messageId === 'string' && typeof t.status === 'string') onTransition(t);
    });
    es.addEventListener('error', () => {
      if (closed || !es) return;
      // CLOSED: the hub refused the stream (no such route, bad filter): EventSource will not retry.
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        es = null;
        startPolling();
      } else {
        onMode('reconnecting');
      }
    });
  }

  return {
    close() {
      closed = true;
      if (es) es.close();
      clearTimeout(timer);
    },
  };
}

const LIVE_TEXT = {
  sse: ['on', 'live'],
  connecting: ['wait', 'connecting…'],
  reconnecting: ['wait', 'reconnecting…'],
  poll: ['on', `live (refresh every ${POLL_MS / 1000} s)`],
  'poll-error': ['off', 'live updates failing: the hub did not answer'],
  off: ['off', ''],
};

function setLive(mode) {
  const el = $('#live');
  const [cls, text] = LIVE_TEXT[mode] ?? LIVE_TEXT.off;
  el.className = `live live-${cls}`;
  el.textContent = text;
  el.dataset.mode = mode;
}

// --------------------------------------------------------------- messages view

function messagesView() {
  const section = $('#view-messages');
  const form = $('#filters');
  const tbody = $('#messages tbody');
  const more = $('#load-more');
  const empty = $('#list-empty');
  const loading = $('#list-loading');
  const errorEl = $('#list-error');
  const extra = $('#extra-filters');

  const statusSelect = form.elements.namedItem('status');
  for (const s of STATUSES) statusSelect.append(h('option', { value: s, text: s }));

  let filters = {};
  let token = 0;
  let rows = new Map();
  let nextCursor = null;
  let newest = -Infinity;
  let live = null;

  const readForm = () => {
    const f = {};
    for (const k of EXTRA_KEYS) if (filters[k]) f[k] = filters[k];
    const txHash = form.elements.namedItem('txHash').value.trim();
    if (txHash) f.txHash = txHash;
    const chain = form.elements.namedItem('chain').value.trim();
    const status = statusSelect.value;
    const party = form.elements.namedItem('party').value.trim();
    const role = form.elements.namedItem('role').value;
    if (chain) f.chain = chain;
    if (status) f.status = status;
    if (party) {
      if (CAIP10.test(party)) f.account = party;
      else f[role === 'receiver' ? 'receiver' : 'sender'] = party;
    }
    return f;
  };

  const fillForm = (f) => {
    form.elements.namedItem('chain').value = f.chain ?? '';
    statusSelect.value = f.status ?? '';
    form.elements.namedItem('party').value = f.account ?? f.sender ?? f.receiver ?? '';
    form.elements.namedItem('role').value = f.receiver && !f.sender ? 'receiver' : 'sender';
    form.elements.namedItem('role').disabled = Boolean(f.account);
    form.elements.namedItem('txHash').value = f.txHash ?? '';
    const chips = EXTRA_KEYS.filter((k) => f[k]).map((k) => {
      const without = { ...f };
      delete without[k];
      return h(
        'span',
        { class: 'chip' },
        h('span', { class: 'label', text: `${k} ` }),
        f[k],
        h('a', { href: messagesHash(without), class: 'remove', title: `remove the ${k} filter`, 'aria-label': `remove the ${k} filter`, text: '×' }),
      );
    });
    extra.replaceChildren(...chips);
    extra.hidden = chips.length === 0;
  };

  const apply = () => {
    const target = messagesHash(readForm());
    if (location.hash !== target) location.hash = target;
    else show(filters);
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  statusSelect.addEventListener('change', apply);
  form.elements.namedItem('role').addEventListener('change', () => {
    if (form.elements.namedItem('party').value.trim()) apply();
  });
  form.elements.namedItem('party').addEventListener('input', (e) => {
    form.elements.namedItem('role').disabled = CAIP10.test(e.target.value.trim());
  });
  $('#clear-filters').addEventListener('click', () => {
    form.reset();
    if (location.hash !== '#/messages') location.hash = '#/messages';
    else show({});
  });
  more.addEventListener('click', () => {
    if (nextCursor) void loadPage(token, nextCursor);
  });

  const row = (item) => {
    const statusCell = h('td', {}, badge(item.status));
    const ageCell = h('td', { class: 'age', title: utc(item.createdAt), text: age(item.createdAt) });
    const open = () => {
      location.hash = `#/message/${item.id}`;
    };
    const tr = h(
      'tr',
      {
        class: 'row',
        'data-id': item.id,
        tabindex: 0,
        onclick: (e) => {
          if (!e.target.closest('a')) open();
        },
        onkeydown: (e) => {
          if (e.key === 'Enter') open();
        },
      },
      h('td', {}, h('a', { href: `#/message/${item.id}`, class: 'mono', title: item.id, text: short(item.id, 10, 6) })),
      h(
        'td',
        { class: 'route' },
        h('span', { class: 'chain', text: dash(item.srcChain) }),
        ' ',
        h('span', { class: 'acct mono', title: item.sender ?? '', text: short(item.sender, 6, 4) }),
        h('span', { class: 'arrow', text: ' → ' }),
        h('span', { class: 'chain', text: dash(item.dstChain) }),
        ' ',
        h('span', { class: 'acct mono', title: item.receiver ?? '', text: short(item.receiver, 6, 4) }),
      ),
      h('td', { class: 'num', text: dash(item.nonce) }),
      statusCell,
      ageCell,
    );
    return { item: { ...item }, tr, statusCell, ageCell };
  };

  const add = (item, where) => {
    if (rows.has(item.id)) return null;
    const r = row(item);
    rows.set(item.id, r);
    if (where === 'top') tbody.prepend(r.tr);
    else tbody.append(r.tr);
    const t = Date.parse(item.createdAt);
    if (Number.isFinite(t) && t > newest) newest = t;
    empty.hidden = true;
    return r;
  };

  const flash = (tr) => {
    tr.classList.remove('flash');
    // Reading layout restarts the animation on a row that changes twice quickly.
    void tr.offsetWidth;
    tr.classList.add('flash');
  };

  const setStatus = (r, status) => {
    if (!moves(r.item.status, status)) return;
    r.item.status = status;
    r.statusCell.replaceChildren(badge(status));
    flash(r.tr);
  };

  const onTransition = (t) => {
    const r = rows.get(t.messageId);
    if (r) {
      setStatus(r, t.status);
      return;
    }
    // A message we have not listed: new when it is `sent`; otherwise an older
    // message (beyond the loaded pages) unless the list is filtered on this status.
    if (t.status !== 'sent' && filters.status !== t.status) return;
    const added = add(
      {
        id: t.messageId,
        srcChain: t.srcChain,
        dstChain: t.dstChain,
        sender: t.sender,
        receiver: t.receiver,
        nonce: t.nonce,
        status: t.status,
        createdAt: t.at,
      },
      'top',
    );
    if (added) flash(added.tr);
  };

  const onItems = (items) => {
    // Oldest first, so that rows prepended one by one end newest on top.
    for (const item of [...items].reverse()) {
      const r = rows.get(item.id);
      if (r) {
        setStatus(r, item.status);
        continue;
      }
      const t = Date.parse(item.createdAt);
      if (rows.size === 0 || (Number.isFinite(t) && t >= newest)) {
        const added = add(item, 'top');
        if (added) flash(added.tr);
      }
    }
  };

  async function loadPage(my, cursor) {
    const qs = filterQuery(filters);
    qs.set('limit', String(PAGE_SIZE));
    if (cursor) qs.set('cursor', cursor);
    loading.hidden = false;
    more.disabled = true;
    try {
      const page = await getJson(`/messages?${qs}`);
      if (my !== token) return false;
      for (const item of page.items ?? []) add(item, 'bottom');
      nextCursor = page.nextCursor ?? null;
      errorEl.hidden = true;
      return true;
    } catch (err) {
      if (my !== token) return false;
      const what = err instanceof ApiError && err.field ? `The hub refused the filter "${err.field}": ` : 'Cannot list messages: ';
      errorEl.textContent = what + errorText(err);
      errorEl.hidden = false;
      return false;
    } finally {
      if (my === token) {
        loading.hidden = true;
        more.disabled = false;
        more.hidden = !nextCursor;
        empty.hidden = rows.size > 0 || !errorEl.hidden;
      }
    }
  }

  function show(f) {
    stop();
    const my = ++token;
    filters = f;
    fillForm(f);
    rows = new Map();
    newest = -Infinity;
    nextCursor = null;
    tbody.replaceChildren();
    empty.hidden = true;
    more.hidden = true;
    // Events that arrive before the first page are applied after it, so neither is lost.
    let early = [];
    const firstPage = filterQuery(f);
    firstPage.set('limit', String(PAGE_SIZE));
    live = openLive(filterQuery(f), {
      onTransition: (t) => {
        if (my !== token) return;
        if (early) early.push(t);
        else onTransition(t);
      },
      poll: async () => {
        const page = await getJson(`/messages?${firstPage}`);
        if (my === token && !early) onItems(Array.isArray(page.items) ? page.items : []);
      },
      onMode: setLive,
      pollOnly: Object.keys(f).some((k) => !STREAM_KEYS.has(k)),
    });
    void loadPage(my, null).then((ok) => {
      if (my !== token) return;
      const queued = early;
      early = null;
      for (const t of queued) onTransition(t);
      if (!ok) {
        live.close();
        setLive('off');
      }
    });
    section.hidden = false;
  }

  function stop() {
    token++;
    if (live) live.close();
    live = null;
  }

  function tickAges() {
    const now = Date.now();
    for (const r of rows.values()) r.ageCell.textContent = age(r.item.createdAt, now);
  }

  return {
    show,
    hide() {
      stop();
      section.hidden = true;
      setLive('off');
    },
    tickAges,
    setChains(ids) {
      $('#chain-ids').replaceChildren(...ids.map((id) => h('option', { value: id })));
    },
  };
}

// ----------------------------------------------------------------- message view

/** Counts trie/merkle nodes: hex strings that are direct items of arrays named like a proof. */
function countProofNodes(value, key = '') {
  if (Array.isArray(value)) {
    const named = /proof|nodes|branch|siblings/i.test(key);
    let n = 0;
    for (const v of value) n += typeof v === 'string' ? (named && /^0x[0-9a-f]*$/i.test(v) ? 1 : 0) : countProofNodes(v, key);
    return n;
  }
  if (value && typeof value === 'object') {
    let n = 0;
    for (const [k, v] of Object.entries(value)) if (k !== 'header') n += countProofNodes(v, k);
    return n;
  }
  return 0;
}

const pick = (...vals) => vals.find((v) => v !== undefined && v !== null && v !== '');

function proofSummary(status, proof) {
  if (!proof || typeof proof !== 'object') return null;
  const header = proof.header && typeof proof.header === 'object' ? proof.header : {};
  const items = [];
  if (status === 'verified') {
    items.push(['Proof kind', dash(proof.kind)]);
    items.push(['Header hash', hash(pick(proof.blockHash, proof.headerHash, header.hash, proof.hash), { full: true })]);
    items.push(['State root', hash(pick(header.stateRoot, proof.stateRoot, proof.appHash, header.appHash, header.app_hash), { full: true })]);
    items.push(['Proof nodes', String(countProofNodes(proof))]);
    if (proof.lightClient !== undefined) items.push(['Light client', dash(proof.lightClient)]);
    if (proof.endpoint !== undefined) items.push(['Endpoint', `#${proof.endpoint}`]);
  } else if (status === 'attested') {
    const sigs = Array.isArray(proof.signatures) ? proof.signatures : [];
    items.push(['Set id', dash(proof.setId)]);
    items.push(['Signatures', `${sigs.length}${proof.threshold !== undefined ? ` (threshold ${proof.threshold})` : ''}`]);
    if (proof.root !== undefined) items.push(['Root', hash(proof.root, { full: true })]);
    for (const s of sigs) {
      items.push([h('span', { class: 'mono', title: String(s?.attestor ?? ''), text: short(s?.attestor, 8, 6) }), hash(s?.signature, { head: 18, tail: 12 })]);
    }
  } else if (status === 'committed') {
    items.push(['Batch', dash(proof.batchNo)]);
    items.push(['Root', hash(proof.root, { full: true })]);
    if (proof.messageLog !== undefined) items.push(['Message log', hash(proof.messageLog, { full: true })]);
  } else if (status === 'quarantined' && Array.isArray(proof.failures)) {
    for (const f of proof.failures) items.push([`Endpoint #${dash(f?.endpoint)}`, `${dash(f?.reason)}: ${dash(f?.detail)}`]);
  }
  if (items.length === 0) return null;
  return h('dl', { class: 'kv proof-summary' }, items.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function timelineStep(t) {
  const proof = t.proof ?? null;
  return h(
    'li',
    { class: `step s-${STATUSES.includes(t.status) ? t.status : 'unknown'}`, 'data-status': t.status },
    h(
      'div',
      { class: 'step-head' },
      badge(t.status),
      h('span', { class: 'when', title: String(t.at ?? ''), text: utc(t.at) }),
      h('span', { class: 'where' }, h('span', { class: 'label', text: 'chain ' }), dash(t.chain)),
      h('span', { class: 'where' }, h('span', { class: 'label', text: 'height ' }), dash(t.height)),
      h('span', { class: 'where' }, h('span', { class: 'label', text: 'tx ' }), hash(t.txHash)),
    ),
    t.reason ? h('p', { class: 'reason', text: `Reason: ${t.reason}` }) : null,
    proofSummary(t.status, proof),
    proof === null
      ? h('p', { class: 'muted small', text: 'No stored proof for this step.' })
      : h('details', { class: 'proof' }, h('summary', { text: 'Stored proof (JSON)' }), h('pre', { text: JSON.stringify(proof, null, 2) })),
  );
}

function messageFields(m) {
  const msg = m.message && typeof m.message === 'object' ? m.message : {};
  const payload = typeof msg.payload === 'string' ? msg.payload : '';
  const payloadBytes = payload.startsWith('0x') ? (payload.length - 2) / 2 : 0;
  const rows = [
    ['Id', hash(m.id, { full: true })],
    ['Status', [badge(m.status), m.reason ? h('span', { class: 'reason', text: ` ${m.reason}` }) : null]],
    ['Source chain', dash(m.srcChain)],
    ['Source port', hash(msg.srcPort, { full: true })],
    ['Sender', hash(m.sender, { full: true })],
    ['Destination chain', dash(m.dstChain)],
    ['Destination port', hash(msg.dstPort, { full: true })],
    ['Receiver', hash(m.receiver, { full: true })],
    ['Nonce', dash(m.nonce)],
    ['Gas limit', dash(msg.gasLimit)],
    ['Timeout height', msg.timeoutHeight === '0' ? 'none' : dash(msg.timeoutHeight)],
    ['Timeout time', msg.timeoutUnixSeconds === '0' || msg.timeoutUnixSeconds === undefined ? 'none' : utc(new Date(Number(msg.timeoutUnixSeconds) * 1000).toISOString())],
    ['Version', dash(msg.version)],
    ['Source tx', hash(m.srcTxHash, { full: true })],
    ['Source height', dash(m.srcHeight)],
    ['Destination tx', hash(m.dstTxHash, { full: true })],
    ['Batch', dash(m.batchNo)],
    ['Created', utc(m.createdAt)],
    ['Updated', utc(m.updatedAt)],
    [
      'Payload',
      payloadBytes <= 64
        ? hash(payload, { full: true })
        : h('details', {}, h('summary', { text: `${payloadBytes} bytes` }), h('pre', { class: 'wrap', text: payload })),
    ],
    ['Encoded', h('details', {}, h('summary', { text: 'ABI encoding' }), h('pre', { class: 'wrap', text: dash(m.encoded) }))],
  ];
  return h('dl', { class: 'kv fields' }, rows.map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));
}

function messageView(backHash) {
  const section = $('#view-message');
  let token = 0;
  let live = null;
  // What is on screen, so a refresh re-renders only on a change and open proof panels stay open.
  let shown = null;

  const render = (m) => {
    const timeline = Array.isArray(m.timeline) ? [...m.timeline] : [];
    timeline.sort((a, b) => {
      try {
        const d = BigInt(a.seq) - BigInt(b.seq);
        return d < 0n ? -1 : d > 0n ? 1 : 0;
      } catch {
        return 0;
      }
    });
    section.replaceChildren(
      h('p', {}, h('a', { href: backHash(), class: 'back', text: '← Messages' })),
      h('h2', {}, 'Message ', h('span', { class: 'mono', title: m.id, text: short(m.id, 10, 8) }), ' ', badge(m.status)),
      messageFields(m),
      h('h3', { text: `Timeline (${timeline.length} ${timeline.length === 1 ? 'step' : 'steps'})` }),
      timeline.length === 0 ? h('p', { class: 'muted', text: 'No transitions recorded.' }) : h('ol', { class: 'timeline' }, timeline.map(timelineStep)),
    );
  };

  const stopLive = () => {
    if (live) live.close();
    live = null;
  };

  // Throws on a failed refresh (the live poller reports it); the first load shows the error instead.
  async function load(id, my) {
    let m;
    try {
      m = await getJson(`/messages/${encodeURIComponent(id)}`);
    } catch (err) {
      if (my !== token || shown !== null) throw err;
      const text = err instanceof ApiError && err.status === 404 ? `No message ${id} in the index.` : `Cannot show message ${id}: ${errorText(err)}`;
      section.replaceChildren(h('p', {}, h('a', { href: backHash(), class: 'back', text: '← Messages' })), h('p', { class: 'error', role: 'alert', text }));
      return;
    }
    if (my !== token) return;
    const sig = `${m.status}|${Array.isArray(m.timeline) ? m.timeline.length : 0}|${m.updatedAt}`;
    if (sig !== shown) render(m);
    shown = sig;
    if (TERMINAL.has(m.status)) {
      stopLive();
      setLive('off');
    } else if (!live) {
      // The stream has no id filter; lane and sender narrow it to a handful of messages.
      const qs = new URLSearchParams({ lane: `${m.srcChain}>${m.dstChain}`, sender: m.sender });
      live = openLive(qs, {
        onTransition: (t) => {
          if (t.messageId === id && my === token) void load(id, my).catch(() => undefined);
        },
        poll: () => load(id, my),
        onMode: (mode) => {
          if (my !== token) return;
          setLive(mode);
          // Whatever moved between the first fetch and the stream opening.
          if (mode === 'sse') void load(id, my).catch(() => undefined);
        },
      });
    }
  }

  return {
    show(id) {
      const my = ++token;
      stopLive();
      shown = null;
      section.replaceChildren(h('p', { class: 'muted', text: 'Loading…' }));
      section.hidden = false;
      void load(id, my).catch(() => undefined);
    },
    hide() {
      token++;
      stopLive();
      section.hidden = true;
      setLive('off');
    },
  };
}

// ------------------------------------------------------------------ chains view

function trustExpiry(healthChain, registration) {
  const v = pick(healthChain?.trustExpiry, healthChain?.trustExpiresAt, registration?.trustExpiry, registration?.trustExpiresAt);
  if (v !== undefined) {
    const t = Date.parse(v);
    if (typeof v === 'string' && Number.isFinite(t) && /\d{4}-\d{2}-\d{2}/.test(v)) {
      const left = t - Date.now();
      return h('span', { class: left <= 0 ? 'bad' : '', title: utc(v), text: left <= 0 ? `expired ${utc(v)}` : `${utc(v)} (in ${duration(left)})` });
    }
    return String(v);
  }
  const lc = pick(healthChain?.lightClient, registration?.lightClient);
  if (lc === 'local-dev') return h('span', { class: 'muted', title: 'trusts the RPC header hash: no light-client trust period', text: 'local-dev' });
  return h('span', { class: 'muted', title: 'not reported by this hub', text: '—' });
}

function chainStatusBadge(status) {
  const s = String(status ?? 'unknown');
  const cls = /^(ok|approved|healthy|synced|live)$/.test(s) ? 'good' : /^(lagging|stale|pending|degraded|suspended)$/.test(s) ? 'warn' : 'bad';
  return h('span', { class: `pill ${cls}`, text: s });
}

/** A chain's registry events (submitted, approved, suspended, ...), fetched when the reader opens it. */
function chainHistory(id) {
  const body = h('div', { class: 'history-body' }, h('p', { class: 'muted', text: 'Loading…' }));
  const box = h('details', { class: 'history', 'data-history': id }, h('summary', { text: id }), body);
  let loaded = false;
  box.addEventListener('toggle', async () => {
    if (!box.open || loaded) return;
    loaded = true;
    try {
      const events = await getJson(`/chains/${encodeURIComponent(id)}/events?limit=500`);
      if (!Array.isArray(events) || events.length === 0) {
        body.replaceChildren(h('p', { class: 'muted', text: 'No registry events recorded for this chain.' }));
        return;
      }
      body.replaceChildren(
        h(
          'table',
          { class: 'grid compact' },
          thead(['Time (UTC)', 'Event', 'Status', 'Governance block', 'Transaction'], ['Governance block']),
          h(
            'tbody',
            {},
            events.map((e) =>
              h(
                'tr',
                {},
                h('td', { text: utc(e.blockTime) }),
                h('td', { text: dash(e.kind) }),
                h('td', {}, e.status ? chainStatusBadge(e.status) : dash(null)),
                h('td', { class: 'num', text: dash(e.blockNumber) }),
                h('td', { class: 'mono', title: e.txHash, text: short(e.txHash, 10, 6) }),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      loaded = false;
      body.replaceChildren(h('p', { class: 'error', text: `Registry history not available: ${errorText(err)}` }));
    }
  });
  return box;
}

function chainsView() {
  const section = $('#view-chains');
  let token = 0;

  async function show() {
    const my = ++token;
    section.hidden = false;
    section.replaceChildren(h('h2', { text: 'Chains' }), h('p', { class: 'muted', text: 'Loading…' }));
    // /health answers 503 with the same report when something is unhealthy: still worth showing.
    const [health, chains] = await Promise.allSettled([getJson('/health', { acceptStatus: [503] }), getJson('/chains')]);
    if (my !== token) return;
    const parts = [h('h2', { text: 'Chains' })];
    const report = health.status === 'fulfilled' && health.value && Array.isArray(health.value.chains) ? health.value : null;
    const regs = chains.status === 'fulfilled' && Array.isArray(chains.value) ? chains.value : [];
    const regById = new Map(regs.map((c) => [c.chainId, c]));

    if (report?.governance) {
      const g = report.governance;
      parts.push(
        h('p', { class: 'gov' }, 'Governance chain ', h('strong', { text: dash(g.chainId) }), ' at head ', h('strong', { text: dash(g.head) }), report.ok ? '' : ' — the hub reports a problem'),
      );
    }
    if (!report) parts.push(h('p', { class: 'error', role: 'alert', text: `Health not available: ${health.status === 'rejected' ? errorText(health.reason) : 'unexpected answer'}` }));
    if (chains.status === 'rejected') parts.push(h('p', { class: 'error', text: `Chain registry not available: ${errorText(chains.reason)}` }));

    const ids = [...new Set([...(report?.chains ?? []).map((c) => c.chainId), ...regs.map((c) => c.chainId)])];
    if (ids.length === 0) {
      parts.push(h('p', { class: 'muted', text: 'No chains known to this hub.' }));
    } else {
      const byId = new Map((report?.chains ?? []).map((c) => [c.chainId, c]));
      parts.push(
        h(
          'table',
          { class: 'grid', id: 'chains' },
          thead(['Chain', 'Family', 'Status', 'Head', 'Finalized', 'Checkpoint', 'Lag', 'Light client', 'Trust expiry'], ['Head', 'Finalized', 'Checkpoint', 'Lag']),
          h(
            'tbody',
            {},
            ids.map((id) => {
              const c = byId.get(id);
              const r = regById.get(id);
              return h(
                'tr',
                { 'data-chain': id },
                h('td', {}, h('a', { href: messagesHash({ chain: id }), text: id })),
                h('td', { text: dash(r?.family) }),
                h('td', {}, chainStatusBadge(c?.status ?? r?.status)),
                h('td', { class: 'num', text: dash(c?.head) }),
                h('td', { class: 'num', text: dash(c?.finalized) }),
                h('td', { class: 'num', text: dash(c?.checkpoint) }),
                h('td', { class: 'num', text: dash(c?.lag) }),
                h('td', { text: dash(r?.lightClient ?? c?.lightClient) }),
                h('td', {}, trustExpiry(c, r)),
              );
            }),
          ),
        ),
      );
    }

    if (ids.length > 0) parts.push(h('h3', { text: 'Registry history' }), ...ids.map((id) => chainHistory(id)));

    const queues = report && report.queues && typeof report.queues === 'object' ? Object.entries(report.queues) : [];
    if (queues.length > 0) {
      parts.push(
        h('h3', { text: 'Relayer queues' }),
        h(
          'table',
          { class: 'grid compact' },
          thead(['Queue', 'Waiting', 'Delayed', 'Active', 'Dead'], ['Waiting', 'Delayed', 'Active', 'Dead']),
          h(
            'tbody',
            {},
            queues.map(([name, q]) =>
              h(
                'tr',
                {},
                h('td', { text: name }),
                h('td', { class: 'num', text: dash(q?.waiting) }),
                h('td', { class: 'num', text: dash(q?.delayed) }),
                h('td', { class: 'num', text: dash(q?.active) }),
                h('td', { class: `num ${Number(q?.dead) > 0 ? 'bad' : ''}`, text: dash(q?.dead) }),
              ),
            ),
          ),
        ),
      );
    }
    section.replaceChildren(...parts);
  }

  return {
    show,
    hide() {
      token++;
      section.hidden = true;
    },
  };
}

// ------------------------------------------------------------------- lanes view

const laneId = (l) => `${l.srcChain}>${l.dstChain}`;

function niceMax(v) {
  if (!(v > 0)) return 1000;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= v * 1.05) return m * mag;
  return 10 * mag;
}

const MINUTE = 60_000;

/**
 * An inline SVG line chart of p50 and p95 per minute over the last `minutes`
 * minutes; the line breaks over minutes without a delivery.
 */
function latencyChart(points, minutes, now = Date.now()) {
  const data = points
    .map((p) => ({ t: Date.parse(p.t), count: Number(p.count ?? 0), p50: p.p50 == null ? null : Number(p.p50), p95: p.p95 == null ? null : Number(p.p95) }))
    .filter((p) => Number.isFinite(p.t))
    .sort((a, b) => a.t - b.t);
  const values = data.flatMap((p) => [p.p50, p.p95]).filter((v) => v !== null && Number.isFinite(v));
  if (data.length === 0 || values.length === 0) return null;

  const W = 760;
  const H = 260;
  const L = 64;
  const R = 16;
  const T = 28;
  const B = 30;
  // The window ends at the current minute whatever buckets came back (the API may leave empty minutes out).
  const t1 = Math.max(Math.floor(now / MINUTE) * MINUTE, data[data.length - 1].t);
  const t0 = Math.min(t1 - (minutes - 1) * MINUTE, data[0].t);
  const ymax = niceMax(Math.max(...values));
  const x = (t) => L + ((t - t0) / Math.max(t1 - t0, MINUTE)) * (W - L - R);
  const y = (v) => T + (1 - v / ymax) * (H - T - B);

  const grid = [];
  const rows = 5;
  for (let i = 0; i <= rows; i++) {
    const v = (ymax * i) / rows;
    grid.push(svg('line', { class: 'grid-line', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    grid.push(svg('text', { class: 'axis', x: L - 8, y: y(v) + 4, 'text-anchor': 'end' }, duration(v)));
  }
  const step = Math.max(1, Math.round((t1 - t0) / MINUTE / 4)) * MINUTE;
  for (let t = t1; t >= t0; t -= step) {
    grid.push(svg('text', { class: 'axis', x: x(t), y: H - 8, 'text-anchor': t === t1 ? 'end' : 'middle' }, `${hhmm(t)}${t === t1 ? ' UTC' : ''}`));
  }

  const series = (key) => {
    let d = '';
    let pen = false;
    const dots = [];
    let prev = -Infinity;
    for (const p of data) {
      const v = p[key];
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        continue;
      }
      if (p.t - prev > MINUTE) pen = false;
      prev = p.t;
      d += `${pen ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
      dots.push(
        svg(
          'circle',
          { class: `dot ${key}`, cx: x(p.t).toFixed(1), cy: y(v).toFixed(1), r: 2.5 },
          svg('title', {}, `${hhmm(p.t)} UTC — ${key} ${duration(v)}, ${p.count} delivered`),
        ),
      );
    }
    return [svg('path', { class: `series ${key}`, d }), dots];
  };

  return svg(
    'svg',
    { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Sent-to-delivered latency per minute, p50 and p95' },
    grid,
    svg('line', { class: 'axis-line', x1: L, x2: L, y1: T, y2: H - B }),
    svg('line', { class: 'axis-line', x1: L, x2: W - R, y1: H - B, y2: H - B }),
    series('p95'),
    series('p50'),
    svg('rect', { class: 'key p95', x: L, y: 8, width: 12, height: 4 }),
    svg('text', { class: 'legend', x: L + 16, y: 14 }, 'p95'),
    svg('rect', { class: 'key p50', x: L + 60, y: 8, width: 12, height: 4 }),
    svg('text', { class: 'legend', x: L + 76, y: 14 }, 'p50'),
  );
}

function countsText(counts) {
  const entries = Object.entries(counts && typeof counts === 'object' ? counts : {}).filter(([, n]) => Number(n) > 0);
  entries.sort(([a], [b]) => (RANK[a] ?? 99) - (RANK[b] ?? 99));
  if (entries.length === 0) return h('span', { class: 'muted', text: '—' });
  return h('span', { class: 'counts' }, entries.map(([s, n]) => h('span', { class: `count s-${STATUSES.includes(s) ? s : 'unknown'}`, text: `${s} ${n}` })));
}

function lanesView() {
  const section = $('#view-lanes');
  let token = 0;

  async function chart(holder, lane, my) {
    holder.replaceChildren(h('p', { class: 'muted', text: 'Loading latency…' }));
    let points;
    try {
      points = await getJson(`/lanes/latency?${new URLSearchParams({ lane, buckets: String(CHART_MINUTES) })}`);
    } catch (err) {
      if (my !== token) return;
      holder.replaceChildren(
        h('p', { class: 'muted', text: routeMissing(err) ? 'Latency chart not available: this hub has no /lanes/latency.' : `Latency chart not available: ${errorText(err)}` }),
      );
      return;
    }
    if (my !== token) return;
    const el = Array.isArray(points) ? latencyChart(points, CHART_MINUTES) : null;
    holder.replaceChildren(el ?? h('p', { class: 'muted', text: 'No deliveries on this lane in the last 60 minutes.' }));
  }

  async function show(selected) {
    const my = ++token;
    section.hidden = false;
    section.replaceChildren(h('h2', { text: 'Lanes' }), h('p', { class: 'muted', text: 'Loading…' }));
    const [lanesR, gapsR] = await Promise.allSettled([getJson('/lanes'), getJson('/lanes/gaps')]);
    if (my !== token) return;
    const parts = [h('h2', { text: 'Lanes' })];
    if (lanesR.status === 'rejected' || !Array.isArray(lanesR.value)) {
      const err = lanesR.status === 'rejected' ? lanesR.reason : null;
      parts.push(h('p', { class: 'muted notice', text: routeMissing(err) ? 'Lanes not available: this hub has no /lanes yet.' : `Lanes not available: ${err ? errorText(err) : 'unexpected answer'}` }));
      section.replaceChildren(...parts);
      return;
    }
    const lanes = lanesR.value;
    if (lanes.length === 0) {
      parts.push(h('p', { class: 'muted', text: 'No lanes yet: no message has been sent.' }));
    } else {
      parts.push(
        h(
          'table',
          { class: 'grid', id: 'lanes' },
          thead(['Lane', 'Total', 'By status', 'p50', 'p95', 'p99', 'Max', 'Last nonce', 'Gaps'], ['Total', 'p50', 'p95', 'p99', 'Max', 'Last nonce', 'Gaps']),
          h(
            'tbody',
            {},
            lanes.map((l) => {
              const id = laneId(l);
              return h(
                'tr',
                { 'data-lane': id, class: id === selected ? 'selected' : '' },
                h(
                  'td',
                  {},
                  h('a', { href: `#/lanes?${new URLSearchParams({ lane: id })}`, title: 'latency chart of this lane', text: `${l.srcChain} → ${l.dstChain}` }),
                  ' ',
                  h('a', { href: messagesHash({ lane: id }), class: 'small', text: 'messages' }),
                ),
                h('td', { class: 'num', text: dash(l.total) }),
                h('td', {}, countsText(l.counts)),
                h('td', { class: 'num', text: duration(l.latencyMs?.p50) }),
                h('td', { class: 'num', text: duration(l.latencyMs?.p95) }),
                h('td', { class: 'num', text: duration(l.latencyMs?.p99) }),
                h('td', { class: 'num', text: duration(l.latencyMs?.max) }),
                h('td', { class: 'num', text: dash(l.lastNonce) }),
                h('td', { class: `num ${Number(Array.isArray(l.gaps) ? l.gaps.length : l.gaps) > 0 ? 'bad' : ''}`, text: dash(Array.isArray(l.gaps) ? l.gaps.length : l.gaps) }),
              );
            }),
          ),
        ),
      );
      const ids = lanes.map(laneId);
      const lane = ids.includes(selected) ? selected : ids[0];
      const picker = h(
        'select',
        {
          'aria-label': 'Lane',
          onchange: (e) => {
            location.hash = `#/lanes?${new URLSearchParams({ lane: e.target.value })}`;
          },
        },
        lanes.map((l) => h('option', { value: laneId(l), selected: laneId(l) === lane, text: `${l.srcChain} → ${l.dstChain}` })),
      );
      const holder = h('div', { class: 'chart-holder' });
      parts.push(h('h3', {}, 'Latency, sent → delivered, last 60 minutes ', picker), holder);
      void chart(holder, lane, my);
    }
    if (gapsR.status === 'fulfilled' && Array.isArray(gapsR.value) && gapsR.value.length > 0) {
      parts.push(
        h('h3', { text: 'Nonce gaps' }),
        h(
          'table',
          { class: 'grid compact' },
          thead(['Source', 'Port', 'Destination', 'Missing from', 'Seen', 'Detected'], ['Missing from', 'Seen']),
          h(
            'tbody',
            {},
            gapsR.value.map((g) =>
              h(
                'tr',
                {},
                h('td', { text: dash(g.srcChain) }),
                h('td', {}, hash(g.srcPort)),
                h('td', { text: dash(g.dstChain) }),
                h('td', { class: 'num bad', text: dash(g.expected) }),
                h('td', { class: 'num', text: dash(g.seen) }),
                h('td', { text: utc(g.detectedAt) }),
              ),
            ),
          ),
        ),
      );
    }
    section.replaceChildren(...parts);
  }

  return {
    show,
    hide() {
      token++;
      section.hidden = true;
    },
  };
}

// -------------------------------------------------------------------- payments

const UETR_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const LEG_CLASS = { locked: 'committed', released: 'delivered', refunded: 'refunded', lock_failed: 'failed', release_sent: 'attested', refund_sent: 'timed_out', none: 'sent', pending: 'sent' };

function legBadge(state) {
  const s = state ?? 'unknown';
  return h('span', { class: `badge s-${LEG_CLASS[s] ?? 'unknown'}`, text: s });
}

/** Settlement payments: a UETR lookup, the corridors, and one payment's legs as the chains record them. */
function paymentsView() {
  const section = $('#view-payments');
  let token = 0;

  function lookupForm(value) {
    const input = h('input', { name: 'uetr', placeholder: 'UETR, e.g. 3f2c1a9e-8b7d-4c6e-9a5b-1d2e3f4a5b6c', spellcheck: 'false', value: value ?? '' });
    const form = h('form', { class: 'filters', autocomplete: 'off' }, h('label', { class: 'wide' }, 'Payment', input), h('div', { class: 'buttons' }, h('button', { type: 'submit', text: 'Show' })));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const v = input.value.trim().toLowerCase();
      if (v) location.hash = `#/payments/${encodeURIComponent(v)}`;
    });
    return form;
  }

  async function payment(uetr, my) {
    if (!UETR_RE.test(uetr)) return [h('p', { class: 'error', role: 'alert', text: 'Not a UETR (lowercase UUIDv4).' })];
    try {
      const p = await getJson(`/payments/${encodeURIComponent(uetr)}`);
      if (my !== token) return [];
      const deadline = Number(p.deadline) * 1000;
      const parts = [
        h('h3', {}, 'Payment ', h('span', { class: 'mono', text: p.uetr }), ' ', legBadge(p.state)),
        h('p', { class: 'muted', text: `corridors ${(p.corridorIds ?? []).join(' > ')} · deadline ${Number.isFinite(deadline) ? utc(new Date(deadline).toISOString()) : '—'}` }),
        h(
          'table',
          { class: 'grid' },
          h('thead', {}, h('tr', {}, ...['Leg', 'Chain', 'Asset', 'Amount', 'From', 'To', 'Hub', 'Escrow'].map((t) => h('th', { text: t })))),
          h(
            'tbody',
            {},
            ...(p.legs ?? []).map((l) =>
              h(
                'tr',
                {},
                h('td', { class: 'num', text: String(l.index) }),
                h('td', { text: dash(l.chain) }),
                h('td', {}, hash(l.asset, { head: 16, tail: 6 })),
                h('td', { class: 'num', text: dash(l.amount) }),
                h('td', {}, hash(l.from)),
                h('td', {}, hash(l.to)),
                h('td', {}, legBadge(l.state)),
                h('td', {}, l.escrow ? legBadge(l.escrow.state) : h('span', { class: 'muted', title: dash(l.escrowError), text: 'unknown' })),
              ),
            ),
          ),
        ),
      ];
      if (Array.isArray(p.messages) && p.messages.length) {
        parts.push(
          h('h3', { text: `Messages (${p.messages.length})` }),
          h('ul', {}, ...p.messages.map((m) => h('li', {}, h('a', { href: `#/message/${m.id}`, class: 'mono', text: short(m.id) }), ` ${m.kind} leg ${m.leg} · ${m.srcChain} → ${m.dstChain} · `, badge(m.status)))),
        );
      }
      parts.push(h('p', {}, h('a', { href: `/payments/${encodeURIComponent(uetr)}/pacs.008`, text: 'pacs.008 JSON' }), ' · ', h('a', { href: `/payments/${encodeURIComponent(uetr)}/pacs.002`, text: 'pacs.002 status report' })));
      return parts;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && err.code === 'not_found') return [h('p', { class: 'muted', text: `No payment ${uetr}.` })];
      return [h('p', { class: 'muted notice', text: routeMissing(err) ? 'Payments not available: this hub has no settlement.' : `Payment not available: ${errorText(err)}` })];
    }
  }

  async function corridors(my) {
    try {
      const c = await getJson('/corridors');
      if (my !== token) return [];
      const list = Array.isArray(c.corridors) ? c.corridors : [];
      if (list.length === 0) return [h('h3', { text: 'Corridors' }), h('p', { class: 'muted', text: 'No corridors.' })];
      return [
        h('h3', { text: `Corridors (${list.length})` }),
        h(
          'table',
          { class: 'grid' },
          h('thead', {}, h('tr', {}, ...['Id', 'Status', 'From', 'To', 'Provider', 'Rate', 'Liquidity'].map((t) => h('th', { text: t })))),
          h(
            'tbody',
            {},
            ...list.map((x) =>
              h(
                'tr',
                {},
                h('td', { class: 'num', text: String(x.id) }),
                h('td', { text: dash(x.status) }),
                h('td', {}, hash(x.corridor?.srcAsset, { head: 16, tail: 6 })),
                h('td', {}, hash(x.corridor?.dstAsset, { head: 16, tail: 6 })),
                h('td', {}, hash(x.corridor?.provider)),
                h('td', { class: 'num', text: x.rate && x.rate !== '0' ? String(Number(x.rate) / 1e18) : '—' }),
                h('td', { class: 'num', text: dash(x.liquidity) }),
              ),
            ),
          ),
        ),
      ];
    } catch (err) {
      return [h('p', { class: 'muted notice', text: routeMissing(err) ? 'Corridors not available: this hub has no settlement.' : `Corridors not available: ${errorText(err)}` })];
    }
  }

  async function show(uetr) {
    const my = ++token;
    section.hidden = false;
    section.replaceChildren(h('h2', { text: 'Payments' }), lookupForm(uetr), h('p', { class: 'muted', text: 'Loading…' }));
    const parts = uetr ? await payment(uetr, my) : await corridors(my);
    if (my !== token) return;
    section.replaceChildren(h('h2', { text: 'Payments' }), lookupForm(uetr), ...parts);
  }

  return {
    show,
    hide() {
      token++;
      section.hidden = true;
    },
  };
}

// ------------------------------------------------------------------------ start

function start() {
  let lastListHash = '#/messages';
  const list = messagesView();
  const detail = messageView(() => lastListHash);
  const chains = chainsView();
  const lanes = lanesView();
  const payments = paymentsView();

  const route = () => {
    const r = parseHash(location.hash);
    for (const a of document.querySelectorAll('[data-nav]')) {
      const current = a.dataset.nav === r.view || (r.view === 'message' && a.dataset.nav === 'messages');
      if (current) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    if (r.view !== 'messages') list.hide();
    if (r.view !== 'message') detail.hide();
    if (r.view !== 'chains') chains.hide();
    if (r.view !== 'lanes') lanes.hide();
    if (r.view !== 'payments') payments.hide();
    if (r.view === 'messages') {
      lastListHash = messagesHash(r.filters);
      document.title = 'Messages · Qiao explorer';
      list.show(r.filters);
    } else if (r.view === 'message') {
      document.title = `Message ${short(r.id, 10, 6)} · Qiao explorer`;
      detail.show(r.id);
    } else if (r.view === 'chains') {
      document.title = 'Chains · Qiao explorer';
      void chains.show();
    } else if (r.view === 'payments') {
      document.title = r.uetr ? `Payment ${r.uetr.slice(0, 8)} · Qiao explorer` : 'Payments · Qiao explorer';
      void payments.show(r.uetr);
    } else {
      document.title = 'Lanes · Qiao explorer';
      void lanes.show(r.lane);
    }
  };

  window.addEventListener('hashchange', route);
  setInterval(() => {
    if (!document.hidden) list.tickAges();
  }, AGE_TICK_MS);
  // Chain ids for the filter's suggestions; the page works without them.
  getJson('/chains')
    .then((cs) => list.setChains(Array.isArray(cs) ? cs.map((c) => c.chainId).filter((x) => typeof x === 'string') : []))
    .catch(() => undefined);
  route();
}

start();
