// The operator dashboard's live view (served as /static/admin.js; the page's
// CSP allows no inline script). Every second it fetches
// /api/v1/admin/snapshot and updates the server-rendered tables in place.
// Hostile text (InitiatorName, TargetName, ...) only ever reaches the page
// through textContent and setAttribute, never as markup. Rows are updated,
// not rebuilt, so keyboard focus stays where it was.
'use strict';
(function () {
  // Half a second between the end of one fetch and the next: the page is at
  // most ~0.5 s plus one fetch behind (the dashboard promises <= 1 s); bench/feed_cost.sh
  // measures this rate.
  var POLL_MS = 500;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute('content') : '';
  var liveState = document.getElementById('live-state');
  var takenAt = document.querySelector('[data-field="taken-at"]');
  var pendingDelete = null;  // disk id waiting for its confirmation

  function formatBytes(n) {
    var units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
    if (n < 1024) return String(n) + ' B';
    var v = n / 1024;
    var unit = 0;
    while (v >= 1024 && unit + 1 < units.length) { v /= 1024; unit++; }
    return v.toFixed(1) + ' ' + units[unit];
  }
  function formatTime(ms) {
    var iso = new Date(ms).toISOString();
    return iso.slice(0, 10) + ' ' + iso.slice(11, 19) + ' UTC';
  }
  function fixed(v, digits) {
    if (!(v >= 0) || v > 1e18) v = 0;
    return v.toFixed(digits);
  }
  function overlayText(s) {
    if (s.overlay_bytes === null || s.overlay_bytes === undefined) return '-';
    return formatBytes(s.overlay_bytes) + ' / ' +
        (s.write_limit === null || s.write_limit === undefined ? 'unlimited' : formatBytes(s.write_limit));
  }
  function diskLuns(d) {
    return d.luns.map(function (l) {
      return l.lun + ': ' + l.image + ' (' + formatBytes(l.overlay_bytes) + ' / ' +
          formatBytes(l.write_limit !== 0 ? l.write_limit : l.size_bytes) + ')';
    }).join('; ');
  }
  function diskSessions(d) {
    if (d.sessions.length === 0) return '-';
    return d.sessions.map(function (s) { return s.initiator_name + ' (' + s.peer_address + ')'; }).join('; ');
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // The no-JavaScript form (the same one the server renders); submit is
  // intercepted below.
  function actionForm(action, buttonClass, label, ariaLabel) {
    var form = el('form', {method: 'post', action: action});
    form.appendChild(el('input', {type: 'hidden', name: 'csrf_token', value: csrf}));
    form.appendChild(el('button', {type: 'submit', 'class': buttonClass, 'aria-label': ariaLabel}, label));
    return form;
  }

  var endSession = function (s) {
    return {mode: 'end', build: function () {
      return actionForm('/admin/sessions/' + s.id + '/end', 'end-session', 'End session', 'End session ' + s.id);
    }};
  };

  var specs = [
    {table: 'sessions', attr: 'data-session-id', items: function (snap) {
      return snap.sessions.filter(function (s) { return !s.discovery; });
    }, key: function (s) { return String(s.id); }, cells: function (s) {
      return [['id', String(s.id)], ['target', s.target], ['kind', s.kind], ['luns', s.luns.join(', ')],
        ['initiator', s.initiator_name], ['isid', s.isid], ['peer', s.peer_address],
        ['transport', s.tls ? 'TLS' : 'plain'], ['auth', s.authenticated ? 'CHAP' : 'none'],
        ['since', formatTime(s.connected_since_ms)],
        ['read', formatBytes(s.read_bytes) + ' / ' + s.read_commands],
        ['written', formatBytes(s.write_bytes) + ' / ' + s.write_commands],
        ['iops', fixed(s.read_iops, 1) + ' / ' + fixed(s.write_iops, 1)],
        ['mbps', fixed(s.read_bytes_per_second / 1e6, 2) + ' / ' + fixed(s.write_bytes_per_second / 1e6, 2)],
        ['overlay', overlayText(s)]];
    }, action: endSession},
    {table: 'discovery-sessions', attr: 'data-session-id', items: function (snap) {
      return snap.sessions.filter(function (s) { return s.discovery; });
    }, key: function (s) { return String(s.id); }, cells: function (s) {
      return [['id', String(s.id)], ['initiator', s.initiator_name], ['isid', s.isid], ['peer', s.peer_address],
        ['transport', s.tls ? 'TLS' : 'plain'], ['since', formatTime(s.connected_since_ms)]];
    }, action: endSession},
    {table: 'disks-table', attr: 'data-disk-id', items: function (snap) { return snap.disks; },
      key: function (d) { return d.id; }, cells: function (d) {
        return [['id', d.id], ['account', d.account_id], ['tier', d.tier], ['target', d.target],
          ['luns', diskLuns(d)], ['sessions', diskSessions(d)],
          ['created', d.created.replace('T', ' ').replace('Z', ' UTC')],
          ['expires', d.expires === null ? 'never' : d.expires.replace('T', ' ').replace('Z', ' UTC')]];
      }, action: function (d) {
        if (pendingDelete === d.id) {
          return {mode: 'confirm', build: function () { return confirmBox(d.id); }};
        }
        return {mode: 'delete', build: function () {
          return actionForm('/admin/disks/' + d.id + '/delete', 'delete-disk', 'Delete disk', 'Delete disk ' + d.id);
        }};
      }},
    {table: 'retained-table', attr: 'data-retained', items: function (snap) { return snap.retained; },
      key: function (r) { return [r.target, r.initiator_name, r.isid, r.peer_address].join('\u0000'); },
      cells: function (r) {
        return [['target', r.target], ['initiator', r.initiator_name], ['isid', r.isid], ['peer', r.peer_address],
          ['overlay', formatBytes(r.overlay_bytes) + ' / ' + formatBytes(r.write_limit)],
          ['until', formatTime(r.until_ms)]];
      }},
    {table: 'fleet-nodes-table', attr: 'data-node', items: function (snap) { return snap.fleet.nodes; },
      key: function (n) { return n.id; }, cells: function (n) {
        return [['id', n.id], ['portal', n.tls_portal ? n.iscsi_portal + ', TLS ' + n.tls_portal : n.iscsi_portal],
          ['alive', n.alive ? 'alive' : 'dead'],
          ['heartbeat', (Math.max(n.heartbeat_age_ms, 0) / 1000).toFixed(1) + ' s ago'],
          ['sessions', String(n.sessions)], ['version', n.version]];
      }},
    {table: 'fleet-leases-table', attr: 'data-lease', items: function (snap) { return snap.fleet.leases; },
      key: function (l) { return l.disk_id; }, cells: function (l) {
        var expires = 'released';
        if (l.owner_node) expires = l.expires_in_ms > 0 ? 'in ' + (l.expires_in_ms / 1000).toFixed(1) + ' s' : 'expired';
        return [['disk', l.disk_id], ['owner', l.owner_node || '-'], ['epoch', String(l.epoch)], ['expires', expires]];
      }},
    {table: 'catalog-table', attr: 'data-image', items: function (snap) { return snap.images; },
      key: function (i) { return i.name; }, cells: function (i) {
        return [['name', i.name], ['size', formatBytes(i.size_bytes)], ['target', i.target]];
      }},
    {table: 'limits-table', attr: 'data-limit', items: function (snap) { return snap.limit_hits; },
      key: function (l) { return l.limit; }, cells: function (l) {
        return [['name', l.limit], ['count', String(l.count)]];
      }, rowClass: function (l) { return l.count > 0 ? 'hit' : ''; }},
    {table: 'refused-table', attr: 'data-refused', items: function (snap) { return snap.refused; },
      key: function (r) { return [r.at_ms, r.peer_address, r.initiator_name, r.target_name, r.reason].join('\u0000'); },
      cells: function (r) {
        return [['when', formatTime(r.at_ms)], ['peer', r.peer_address], ['initiator', r.initiator_name],
          ['target', r.target_name], ['reason', r.reason], ['repeats', String(r.repeats)]];
      }}
  ];

  function confirmBox(id) {
    var box = el('div', {'class': 'confirm', role: 'group', 'aria-label': 'Confirm deleting disk ' + id});
    box.appendChild(el('span', {}, 'Delete disk ' + id + '? '));
    var yes = el('button', {type: 'button', 'class': 'confirm-delete danger', 'data-disk': id}, 'Delete');
    var no = el('button', {type: 'button', 'class': 'cancel-delete', 'data-disk': id}, 'Cancel');
    box.appendChild(yes);
    box.appendChild(document.createTextNode(' '));
    box.appendChild(no);
    return box;
  }

  function syncAction(tr, index, spec, item) {
    var td = tr.cells[index];
    if (!td) { td = el('td', {'class': 'action'}); tr.appendChild(td); }
    var want = spec.action(item);
    if (td.getAttribute('data-mode') === want.mode) return;
    var hadFocus = td.contains(document.activeElement);
    td.replaceChildren(want.build());
    td.setAttribute('data-mode', want.mode);
    if (hadFocus || want.mode === 'confirm') {
      var first = td.querySelector('button');
      if (first) first.focus();
    }
  }

  function syncTable(spec, snap) {
    var table = document.getElementById(spec.table);
    if (!table) return;
    var tbody = table.tBodies[0];
    var items = spec.items(snap);
    var wanted = new Map();
    items.forEach(function (item) { wanted.set(spec.key(item), item); });
    Array.from(tbody.rows).forEach(function (tr) {
      if (!wanted.has(tr.getAttribute(spec.attr))) tr.remove();
    });
    var present = new Map();
    Array.from(tbody.rows).forEach(function (tr) { present.set(tr.getAttribute(spec.attr), tr); });
    items.forEach(function (item, position) {
      var key = spec.key(item);
      var tr = present.get(key);
      if (!tr) {
        tr = el('tr');
        tr.setAttribute(spec.attr, key);
      }
      var cells = spec.cells(item);
      cells.forEach(function (c, i) {
        var td = tr.cells[i];
        if (!td) { td = el('td', {'class': c[0]}); tr.appendChild(td); }
        if (td.textContent !== c[1]) td.textContent = c[1];
      });
      if (spec.action) syncAction(tr, cells.length, spec, item);
      if (spec.rowClass && tr.className !== spec.rowClass(item)) tr.className = spec.rowClass(item);
      if (tbody.rows[position] !== tr) tbody.insertBefore(tr, tbody.rows[position] || null);
    });
    var count = document.querySelector('[data-count-for="' + spec.table + '"]');
    if (count) count.textContent = String(items.length);
    var empty = document.querySelector('[data-empty-for="' + spec.table + '"]');
    if (empty) empty.hidden = items.length !== 0;
  }

  function render(snap) {
    specs.forEach(function (spec) { syncTable(spec, snap); });
    if (takenAt) takenAt.textContent = formatTime(snap.taken_at_ms);
  }

  function say(text) { if (liveState) liveState.textContent = text; }

  var timer = null;
  function schedule(ms) {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  function poll() {
    timer = null;
    if (document.hidden) { schedule(POLL_MS); return; }
    fetch('/api/v1/admin/snapshot', {credentials: 'same-origin', cache: 'no-store',
      headers: {'Accept': 'application/json'}})
      .then(function (r) {
        if (r.status === 401) { window.location.assign('/admin/login'); return null; }
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(function (snap) {
        if (snap === null) return;
        render(snap);
        say('(live)');
        schedule(POLL_MS);
      })
      .catch(function () {
        say('(connection lost, retrying)');
        schedule(POLL_MS);
      });
  }

  function act(method, url, done) {
    fetch(url, {method: method, credentials: 'same-origin', headers: {'X-CSRF-Token': csrf}})
      .then(function (r) {
        if (r.status === 401) { window.location.assign('/admin/login'); return; }
        say(r.ok ? '(done)' : '(refused: HTTP ' + r.status + ')');
        if (done) done(r.ok);
        schedule(0);
      })
      .catch(function () { say('(action failed: connection lost)'); });
  }

  document.addEventListener('submit', function (event) {
    var form = event.target;
    var action = form.getAttribute('action') || '';
    var end = /^\/admin\/sessions\/(\d+)\/end$/.exec(action);
    var del = /^\/admin\/disks\/([A-Za-z0-9._-]+)\/delete$/.exec(action);
    if (end) {
      event.preventDefault();
      act('POST', '/api/v1/admin/sessions/' + end[1] + '/end');
    } else if (del) {
      event.preventDefault();
      pendingDelete = del[1];
      var tr = form.closest('tr');
      if (tr) syncAction(tr, tr.cells.length - 1, specs[2], {id: del[1]});
    }
  });

  function cancelDelete(id) {
    pendingDelete = null;
    var tr = document.querySelector('#disks-table tr[data-disk-id="' + CSS.escape(id) + '"]');
    if (tr) {
      syncAction(tr, tr.cells.length - 1, specs[2], {id: id});
      var button = tr.querySelector('button.delete-disk');
      if (button) button.focus();
    }
  }

  document.addEventListener('click', function (event) {
    var button = event.target.closest ? event.target.closest('button') : null;
    if (!button) return;
    var id = button.getAttribute('data-disk');
    if (button.classList.contains('confirm-delete')) {
      pendingDelete = null;
      act('DELETE', '/api/v1/admin/disks/' + encodeURIComponent(id));
    } else if (button.classList.contains('cancel-delete')) {
      cancelDelete(id);
    }
  });

  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && pendingDelete !== null) cancelDelete(pendingDelete);
  });

  schedule(POLL_MS);
})();
