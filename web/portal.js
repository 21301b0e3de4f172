// shipgate's portal script.  The pages work without it; it only
// (1) shows <time datetime> in the viewer's time zone, keeping UTC in
// the title, and (2) on a run page that is not finished, polls
// /api/v1/runs/ID every few seconds and updates the run's and the
// stages' status without a reload.  No inline script: CSP forbids it.
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
		    pad(d.getMinutes()) + ' ' + zone;
	}

	function localTimes(root) {
		var list = root.querySelectorAll('time[datetime]');
		for (var i = 0; i < list.length; i++)
			localTime(list[i]);
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
