// shipgate's portal script.  The pages work without it; it only
// (1) shows <time datetime> in the viewer's time zone, keeping UTC in
// the title (a deploy window's next opening named by its zone,
// through Intl.DateTimeFormat), and (2) on a run page that is not finished, polls
// /api/v1/runs/ID every few seconds and updates the run's and the
// stages' status and each stage's live progress (the ECS services' bars
// and the stack's events) without a reload.  No inline script: CSP
// forbids it.
(function () {
	'use strict';

	var pad = function (n) { return (n < 10 ? '0' : '') + n; };

	function localTime(el) {
		var d = new Date(el.getAttribute('datetime'));
		if (isNaN(d.getTime()))
			return;
		if (!el.title)
			el.title = 'UTC ' + el.getAttribute('datetime');
		var off = -d.getTimezoneOffset();
		var zone = 'UTC' + (off === 0 ? '' : (off > 0 ? '+' : '-') +
		    pad(Math.floor(Math.abs(off) / 60)) +
		    (Math.abs(off) % 60 ? ':' + pad(Math.abs(off) % 60) : ''));
		el.textContent = d.getFullYear() + '-' + pad(d.getMonth() + 1) +
		    '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' +
		    pad(d.getMinutes()) + (el.hasAttribute('data-seconds') ?
		    ':' + pad(d.getSeconds()) : '') + ' ' + zone;
	}

	// A <time data-zone> (an awaiting_window stage's next opening): the
	// server wrote it in the environment's zone; it is shown in the
	// viewer's, named as the tz database names it, with its offset, the
	// environment's text kept in the title.
	function zoneTime(el) {
		var d = new Date(el.getAttribute('datetime'));
		if (isNaN(d.getTime()) || !window.Intl || !Intl.DateTimeFormat)
			return;
		var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
		if (!tz)
			return;
		var p = {};
		new Intl.DateTimeFormat('en-US', {
			timeZone: tz, hourCycle: 'h23', year: 'numeric',
			month: '2-digit', day: '2-digit', hour: '2-digit',
			minute: '2-digit', second: '2-digit'
		}).formatToParts(d).forEach(function (x) {
			p[x.type] = x.value;
		});
		var h = Number(p.hour) % 24;
		// The offset: the local wall time read as UTC, minus the instant.
		var off = Math.round((Date.UTC(Number(p.year), Number(p.month) -
		    1, Number(p.day), h, Number(p.minute), Number(p.second)) -
		    Math.floor(d.getTime() / 1000) * 1000) / 60000);
		var a = Math.abs(off);
		if (!el.title)
			el.title = 'In the environment: ' + el.textContent +
			    '; UTC ' + el.getAttribute('datetime');
		el.textContent = p.year + '-' + p.month + '-' + p.day + ' ' +
		    pad(h) + ':' + p.minute + ' ' + tz + ' (UTC' +
		    (off < 0 ? '-' : '+') + pad(Math.floor(a / 60)) + ':' +
		    pad(a % 60) + ', your time zone)';
	}

	function localTimes(root) {
		var list = root.querySelectorAll('time[datetime]');
		for (var i = 0; i < list.length; i++) {
			if (list[i].hasAttribute('data-zone'))
				zoneTime(list[i]);
			else
				localTime(list[i]);
		}
		var tz = document.querySelectorAll('.tz');
		for (i = 0; i < tz.length; i++)
			tz[i].textContent = 'your time zone (UTC on hover)';
	}

	function setStatus(el, name) {
		if (el === null || el.textContent === name)
			return false;
		var cls = el.className.split(/\s+/).filter(function (c) {
			return c.indexOf('status-') !== 0;
		});
		cls.push('status-' + name);
		el.className = cls.join(' ');
		el.textContent = name;
		return true;
	}

	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined && text !== null)
			e.textContent = String(text);
		return e;
	}

	var EVENTS_MAX = 100;	// as the page (portal-pages.c)

	// A stage's progress redrawn from the API's stage object, in the
	// markup run.html has (text only: textContent, never HTML).
	function renderProgress(div, st) {
		var services = st.services || [], events = st.events || [];
		var i, ul, li, bar, counts, run, tr, td, t, tb, tbl, wrap, cap;
		var thead, hr, heads;

		// Redrawn only when it moved (a selection or a scroll stays).
		var key = JSON.stringify([services, events.length,
		    events.length ? events[0].id : null]);
		if (div.getAttribute('data-drawn') === key)
			return;
		div.setAttribute('data-drawn', key);
		while (div.firstChild)
			div.removeChild(div.firstChild);
		if (services.length > 0) {
			ul = el('ul', 'services');
			ul.setAttribute('aria-label', 'ECS services');
			for (i = 0; i < services.length; i++) {
				var v = services[i];
				run = Math.min(v.running, v.desired);
				counts = v.running + '/' + v.desired +
				    ' running, ' + v.pending + ' pending, ' +
				    v.failed + ' failed';
				li = el('li', 'service' +
				    (v.rollout_state === 'FAILED' ? ' failed' : ''));
				li.setAttribute('data-service', v.service);
				li.appendChild(el('span', 'mono service-name',
				    v.service));
				bar = el('progress', null, counts);
				bar.max = v.desired;
				bar.value = run;
				li.appendChild(document.createTextNode(' '));
				li.appendChild(bar);
				li.appendChild(document.createTextNode(' '));
				li.appendChild(el('span', 'service-counts', counts));
				li.appendChild(document.createTextNode(', '));
				li.appendChild(el('span', 'rollout',
				    v.rollout_state || 'unknown'));
				if (v.rollout_reason) {
					li.appendChild(document.createTextNode(': '));
					li.appendChild(el('span', 'rollout-reason',
					    v.rollout_reason));
				}
				ul.appendChild(li);
			}
			div.appendChild(ul);
		}
		if (events.length === 0)
			return;
		wrap = el('div', 'scroll');
		tbl = el('table', 'events');
		cap = el('caption', null, 'Stack events, newest first');
		tbl.appendChild(cap);
		thead = el('thead');
		hr = el('tr');
		heads = ['When', 'Logical ID', 'Type', 'Status', 'Reason'];
		for (i = 0; i < heads.length; i++) {
			var th = el('th', null, heads[i]);
			th.scope = 'col';
			hr.appendChild(th);
		}
		thead.appendChild(hr);
		tbl.appendChild(thead);
		tb = el('tbody');
		for (i = 0; i < events.length && i < EVENTS_MAX; i++) {
			var e = events[i];
			tr = el('tr', e.failed ? 'failed' : null);
			td = el('td');
			if (e.at) {
				t = el('time', null, e.at);
				t.setAttribute('datetime', e.at);
				t.setAttribute('data-seconds', '');
				localTime(t);
				td.appendChild(t);
			}
			tr.appendChild(td);
			tr.appendChild(el('td', 'mono', e.logical_id));
			tr.appendChild(el('td', 'mono', e.type));
			tr.appendChild(el('td', 'event-status', e.status));
			tr.appendChild(el('td', null, e.reason));
			tb.appendChild(tr);
		}
		tbl.appendChild(tb);
		wrap.appendChild(tbl);
		div.appendChild(wrap);
		if (events.length > EVENTS_MAX)
			div.appendChild(el('p', 'none', (events.length -
			    EVENTS_MAX) + ' older events: see /api/v1/runs/' +
			    run_id_of(div) + '.'));
	}

	function run_id_of(node) {
		var a = node.closest('article.run');
		return a ? a.getAttribute('data-run-id') : '';
	}

	var FINISHED = ['succeeded', 'failed', 'rejected', 'expired',
	    'superseded', 'cancelled', 'invalid'];

	function poll(run, id) {
		var delay = 3000, stopped = false;
		var note = document.createElement('p');
		var a = document.createElement('a');

		// Tables (changes, approvals, audit) are not redrawn: a note
		// offers a reload once something moved.
		note.className = 'notice';
		note.setAttribute('role', 'status');
		note.hidden = true;
		note.appendChild(document.createTextNode('This run has moved on: '));
		a.href = window.location.pathname;
		a.textContent = 'reload for the details';
		note.appendChild(a);
		run.insertBefore(note, run.children[1] || null);

		function update(data) {
			var r = data && data.run, changed = false;
			if (!r)
				return;
			changed = setStatus(run.querySelector('.run-status'),
			    r.status);
			(r.stages || []).forEach(function (st) {
				var secs = run.querySelectorAll('[data-stage]');
				for (var i = 0; i < secs.length; i++) {
					if (secs[i].getAttribute('data-stage') !==
					    st.env)
						continue;
					if (setStatus(secs[i].querySelector(
					    '.stage-status'), st.status))
						changed = true;
					var p = secs[i].querySelector(
					    '[data-progress]');
					if (p !== null)
						renderProgress(p, st);
				}
			});
			if (changed)
				note.hidden = false;
			if (FINISHED.indexOf(r.status) >= 0)
				stopped = true;
		}

		function tick() {
			if (stopped)
				return;
			if (document.hidden) {
				setTimeout(tick, delay);
				return;
			}
			fetch('/api/v1/runs/' + encodeURIComponent(id), {
				credentials: 'same-origin',
				headers: { 'Accept': 'application/json' }
			}).then(function (res) {
				if (!res.ok)
					throw new Error('HTTP ' + res.status);
				return res.json();
			}).then(function (data) {
				delay = 3000;
				update(data);
			}).catch(function () {
				delay = Math.min(delay * 2, 60000);
			}).then(function () {
				if (!stopped)
					setTimeout(tick, delay);
			});
		}

		setTimeout(tick, delay);
	}

	function start() {
		localTimes(document);
		var run = document.querySelector('article.run[data-live]');
		if (run !== null && window.fetch)
			poll(run, run.getAttribute('data-run-id'));
	}

	if (document.readyState === 'loading')
		document.addEventListener('DOMContentLoaded', start);
	else
		start();
})();
