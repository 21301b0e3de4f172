'use strict';
// The portal in Debian's chromium (issue 6), against the names of
// web/README.md's contract.  test-browser.sh starts the fake AWS endpoint
// (with the demo sandbox: billing 1.4.1 deployed everywhere) and shipgated
// with conf/demo.yaml, then runs this.  One chromium; a context per user.
//
// Run 1 is billing 1.4.2 (image tag 1.4.1 -> 1.4.2: the fake reports the
// web task definition, WebTask, as replaced).  It waits for the Int
// approval; bob (project team) may not give it, neither through the page
// nor by a forged POST; alice's reject without a comment and her POST
// without the CSRF token are refused; she approves with a comment and
// watches Int reach the promotion gate without reloading; the gate is
// authorised on the page (Confirm ticked); bob approves STG.  Run 2's message is
// markup, shown as text.  dave freezes Int from the app page; a run
// approved in the freeze shows its next opening in a New York browser's
// zone; the freeze lifted from the page, it goes on.  Screenshots of the dashboard, a run and the
// history are saved.

const h = require('./harness');

const MSG1 = 'Fix invoice rounding on credit notes';
const XSS = '<script>alert(1)</script>';

// stageStatus(PAGE, ENV): the text of the stage's .stage-status.
async function stageStatus(page, envName) {
	const t = await page.locator('[data-stage="' + envName + '"] .stage-status')
	    .first().textContent();
	return (t || '').trim();
}

// approvalForm(PAGE, ENV): the form holding the "Approve ENV" button.
function approvalForm(page, envName) {
	return page.locator('form', {
		has: page.getByRole('button', { name: 'Approve ' + envName }),
	});
}

// formFields(FORM, BUTTON): the fields the browser would send when the
// button is clicked, and the form's absolute action URL.
async function formFields(form, button) {
	const fields = await form.evaluate((f) => {
		const o = {};
		for (const [k, v] of new FormData(f))
			o[k] = String(v);
		return o;
	});
	const bname = await button.getAttribute('name');
	if (bname)
		fields[bname] = (await button.getAttribute('value')) || '';
	const action = await form.evaluate((f) => f.action);
	return { action, fields };
}

// submit(PAGE, BUTTON): click a form's button and wait for the page it
// leads to (after a 303, or the page rendered again) to have loaded.
async function submit(page, button) {
	await Promise.all([page.waitForEvent('load'), button.click()]);
}

// waitText(PAGE, SELECTOR, WANT, MS): the element's trimmed text becomes
// WANT (checked in the page, so nothing reloads it).
function waitText(page, selector, want, ms) {
	return page.waitForFunction(([sel, w]) => {
		const e = document.querySelector(sel);
		return e && e.textContent.trim() === w;
	}, [selector, want], { timeout: ms || 30000, polling: 100 });
}

async function main() {
	const browser = await h.launch();
	let alice, bob, forged;

	h.dropRelease({ version: '1.4.2', tag: '1.4.2', message: MSG1,
	    imageParameters: { 'billing/web': 'WebImage' } });
	h.ok('run 1 (billing 1.4.2) waits for the Int approval',
	    await h.waitStage(1, 'int', 'awaiting_approval', 60));

	await h.scenario('sign-in', async () => {
		const u = await h.newUser(browser, null);
		await u.page.goto('/');
		h.like('an anonymous visitor is sent to the sign-in page',
		    new URL(u.page.url()).pathname, /^\/login/);
		await u.page.getByLabel('User name').fill('alice');
		await u.page.getByLabel('Password').fill('not the password');
		await u.page.getByRole('button', { name: 'Sign in' }).click();
		await u.page.getByRole('alert').first().waitFor();
		h.ok('a wrong password is refused with an alert, still on /login',
		    new URL(u.page.url()).pathname.startsWith('/login'));
		await u.context.close();
	});

	await h.scenario('integrator dashboard and run page', async () => {
		alice = await h.newUser(browser, 'alice');
		const page = alice.page;
		h.is('alice lands on the dashboard', new URL(page.url()).pathname, '/');
		h.ok('every page has a Sign out button', await page.getByRole('button',
		    { name: 'Sign out' }).isVisible());
		const waiting = page.locator('section', {
			has: page.getByRole('heading', { name: 'Waiting for you' }),
		});
		const link = waiting.getByRole('link',
		    { name: 'billing 1.4.2: approve int' });
		h.is('"Waiting for you" lists billing 1.4.2: approve int',
		    await link.count(), 1);
		await h.screenshot(page, 'dashboard');
		await Promise.all([page.waitForURL((u) => u.pathname === '/runs/1'), link.click()]);
		h.is('the link opens run 1', new URL(page.url()).pathname, '/runs/1');
		h.like('h1 holds the app and version',
		    await page.locator('h1').first().textContent(), /billing\s+1\.4\.2/);
		h.is('the integrator\'s message is shown',
		    (await page.locator('.release-message').first().textContent()).trim(),
		    MSG1);
		h.is('Int is awaiting_approval', await stageStatus(page, 'int'),
		    'awaiting_approval');
		const changes = page.locator('[data-stage="int"] table.changes');
		h.ok('Int\'s change set is a table.changes', await changes.count() > 0);
		const heads = (await changes.first().locator('th').allTextContents())
		    .map((s) => s.trim());
		for (const c of ['Action', 'Logical ID', 'Type', 'Physical ID',
		    'Replacement'])
			h.ok('the change set has a column ' + c, heads.includes(c),
			    'columns: ' + JSON.stringify(heads));
		const repl = changes.locator('tr.replacement');
		h.ok('the replaced WebTask is flagged (tr.replacement)',
		    await repl.filter({ hasText: 'WebTask' }).count() === 1,
		    'replacement rows: ' + JSON.stringify(await repl.allTextContents()));
		h.like('its property-level details name what forces the replacement',
		    await repl.filter({ hasText: 'WebTask' }).first().textContent(),
		    /ContainerDefinitions[\s\S]*recreation: Always/);
		h.ok('a row not replaced is not flagged',
		    await changes.locator('tr:not(.replacement)',
		    { hasText: 'WebService' }).count() >= 1);
		const color = await repl.first().evaluate((e) =>
		    getComputedStyle(e).color + ' ' +
		    getComputedStyle(e).backgroundColor + ' ' +
		    getComputedStyle(e).borderLeftColor);
		h.ok('the replacement row is styled red', /rgba?\((1\d\d|2\d\d), \d{1,2}, \d{1,2}/
		    .test(color), color);
		const form = approvalForm(page, 'int');
		h.is('alice has one approval form for Int', await form.count(), 1);
		h.ok('its Comment field is labelled',
		    await form.getByLabel('Comment').count() === 1);
		h.ok('it has Reject int too', await form.getByRole('button',
		    { name: 'Reject int' }).count() === 1);
		forged = await formFields(form, form.getByRole('button',
		    { name: 'Approve int' }));
		await h.screenshot(page, 'run');

		// What the approver decides on, in values (issue 15).
		const images = page.locator('table.images');
		h.like('the image shows its pinned digest, not "not read yet"',
		    await images.first().textContent(),
		    /sha256:[0-9a-f]{64}[\s\S]*pinned at intake/);
		h.is('no image is "not read yet"', await page.getByText(
		    'not read yet').count(), 0);
		const params = page.locator('[data-stage="int"] table.parameters');
		h.ok('Int has a parameter table', await params.count() > 0);
		const tag = params.first().locator('tr', { hasText: 'ImageTag' });
		h.is('ImageTag is one changed row', await tag.count(), 1);
		h.is('ImageTag: 1.4.1 -> 1.4.2', (await tag.first()
		    .locator('td').allTextContents()).map((x) => x.trim())
		    .join(' | '), 'ImageTag | 1.4.1 | 1.4.2 | modified');
		h.like('WebImage receives the pinned reference', await params
		    .first().locator('tr', { hasText: 'WebImage' }).first()
		    .textContent(), /billing\/web@sha256:[0-9a-f]{64}[\s\S]*added/);
		const unchanged = page.locator('[data-stage="int"] ' +
		    'details.parameters-unchanged');
		h.ok('the unchanged parameters are folded', await unchanged.count()
		    === 1 && !(await unchanged.first().evaluate((e) => e.open)));
		h.like('Now running is said', await page.locator(
		    '[data-stage="int"] .now-running').first().textContent(),
		    /Now running: shipgate has not deployed int yet/);
		const diff = page.locator('[data-stage="int"] details.template-diff');
		h.is('the template diff is folded under the change set',
		    await diff.count(), 1);
		h.like('its summary counts the lines', await diff.first()
		    .locator('summary').textContent(), /3 lines added, 0 removed/);
		await diff.first().locator('summary').click();
		const added = diff.first().locator('tr.add', { hasText: 'WebImage' });
		h.is('opened, it shows the added line with its new number',
		    (await added.first().locator('td').allTextContents())
		    .map((x) => x.trim()).join(' | '), ' | 4 | +  WebImage:');
		await unchanged.first().locator('summary').click();
		await params.first().scrollIntoViewIfNeeded();
		await h.screenshot(page, 'run-parameters');
		await diff.first().scrollIntoViewIfNeeded();
		await h.screenshot(page, 'run-template-diff');
	});

	await h.scenario('project team cannot approve Int', async () => {
		bob = await h.newUser(browser, 'bob');
		const page = bob.page;
		const waiting = page.locator('section', {
			has: page.getByRole('heading', { name: 'Waiting for you' }),
		});
		h.is('bob\'s "Waiting for you" does not offer Int',
		    await waiting.getByRole('link', { name: /approve int/ }).count(), 0);
		await page.goto('/runs/1');
		h.is('bob sees run 1 awaiting the Int approval',
		    await stageStatus(page, 'int'), 'awaiting_approval');
		h.is('bob has no Approve int button', await page.getByRole('button',
		    { name: 'Approve int' }).count(), 0);
		h.is('nor Reject int', await page.getByRole('button',
		    { name: 'Reject int' }).count(), 0);
		if (!forged)
			throw new Error('no approval form seen as alice to forge');
		// alice's form, sent with bob's session and bob's own token.
		const fields = Object.assign({}, forged.fields,
		    { csrf: await h.csrfOf(page), comment: 'forged by bob' });
		const r = await bob.context.request.post(forged.action, {
			form: fields, maxRedirects: 0,
			headers: { Origin: h.portal, Referer: h.portal + '/runs/1' },
		});
		const body = await r.text();
		h.ok('a forged approval POST by bob is refused (403 or an alert)',
		    r.status() === 403 || (r.status() >= 400 &&
		    /role="?alert/.test(body)), 'status ' + r.status());
		const run = h.showRun(1);
		h.ok('nothing was recorded: Int still waits, no approval',
		    run && h.stageOf(run, 'int').status === 'awaiting_approval' &&
		    run.approvals.length === 0, JSON.stringify(run && run.approvals));
	});

	await h.scenario('reject needs a comment', async () => {
		const page = alice.page;
		await page.goto('/runs/1');
		const form = approvalForm(page, 'int');
		await form.getByLabel('Comment').fill('');
		await submit(page, form.getByRole('button', { name: 'Reject int' }));
		const alert = page.getByRole('alert').filter({
			hasText: 'A comment is required to reject.' });
		await alert.first().waitFor({ timeout: 10000 });
		h.ok('rejecting without a comment is refused in role=alert', true);
		const run = h.showRun(1);
		h.ok('Int still waits, nothing recorded',
		    run && h.stageOf(run, 'int').status === 'awaiting_approval' &&
		    run.approvals.length === 0);
		if (!forged)
			return;
		// The same refusal from the server, whatever the page's script does.
		const fields = Object.assign({}, forged.fields, {
			csrf: await h.csrfOf(page), comment: '   ' });
		for (const k of Object.keys(fields))
			if (fields[k] === 'approve')
				fields[k] = 'reject';
		const reject = page.getByRole('button', { name: 'Reject int' });
		const rname = await reject.first().getAttribute('name');
		const action = await reject.first().evaluate((b) =>
		    b.hasAttribute('formaction') ? b.formAction : null);
		if (rname)
			fields[rname] = (await reject.first().getAttribute('value')) || '';
		const r = await alice.context.request.post(action ||
		    forged.action.replace(/\/approve$/, '/reject'), {
			form: fields, maxRedirects: 0,
			headers: { Origin: h.portal, Referer: h.portal + '/runs/1' },
		});
		const body = await r.text();
		h.ok('a blank comment POSTed directly is refused with the message',
		    body.includes('A comment is required to reject.'),
		    'status ' + r.status());
		h.ok('still nothing recorded', h.showRun(1).approvals.length === 0);
	});

	await h.scenario('CSRF', async () => {
		const page = alice.page;
		await page.goto('/runs/1');
		const form = approvalForm(page, 'int');
		await form.locator('input[name="csrf"]').evaluateAll((l) =>
		    l.forEach((e) => e.remove()));
		await form.getByLabel('Comment').fill('no token');
		const [resp] = await Promise.all([
			page.waitForResponse((r) => r.request().method() === 'POST'),
			submit(page, form.getByRole('button', { name: 'Approve int' })),
		]);
		h.is('the browser\'s POST without the token gets 403', resp.status(), 403);
		h.like('the page says so', await page.locator('body').textContent(),
		    /Invalid or missing CSRF token\./);
		const r = await alice.context.request.post(forged.action, {
			form: Object.assign({}, forged.fields, { csrf: 'x'.repeat(43) }),
			maxRedirects: 0,
			headers: { Origin: h.portal, Referer: h.portal + '/runs/1' },
		});
		h.is('a wrong token gets 403 too', r.status(), 403);
		const lo = await alice.context.request.post('/logout', {
			maxRedirects: 0,
			headers: { Origin: h.portal, Referer: h.portal + '/' },
		});
		h.is('sign-out without the token gets 403', lo.status(), 403);
		const run = h.showRun(1);
		h.ok('Int still waits, nothing recorded, alice still signed in',
		    run && h.stageOf(run, 'int').status === 'awaiting_approval' &&
		    run.approvals.length === 0);
	});

	await h.scenario('integrator approves and watches', async () => {
		const page = alice.page;
		await page.goto('/runs/1');
		h.is('alice is still signed in (the refused sign-out did nothing)',
		    new URL(page.url()).pathname, '/runs/1');
		const form = approvalForm(page, 'int');
		await form.getByLabel('Comment').fill('Change set checked: WebTask replaced');
		// A slower fake: Int's deployment takes a few of the page's polls,
		// its tasks coming up over twelve steps (live progress).
		h.fakeConfig({ step_delay: 0.4, ecs_rollout_steps: 12 });
		await submit(page, form.getByRole('button', { name: 'Approve int' }));
		h.is('back on the run page', new URL(page.url()).pathname, '/runs/1');
		h.ok('the decision is recorded', await h.waitFor(() => {
			const run = h.showRun(1);
			return run && run.approvals.some((a) => a.user === 'alice' &&
			    a.decision === 'approve' &&
			    a.comment === 'Change set checked: WebTask replaced');
		}, 10));
		// A mark on the window: a reload would drop it.
		await page.evaluate(() => { window.sgNoReload = 42; });
		// The page may have been drawn before the engine took the
		// approval up: its own polling shows the next state.
		await page.waitForFunction(() => {
			const e = document.querySelector(
			    '[data-stage="int"] .stage-status');
			return e && e.textContent.trim() !== 'awaiting_approval';
		}, null, { timeout: 30000 }).catch(() => {});
		const seen = [await stageStatus(page, 'int')];
		// Mid-deployment, drawn by the page's polling: the service's
		// bar and the stack's events so far.
		const rolling = await page.waitForFunction(() => {
			const e = document.querySelector(
			    '[data-stage="int"] li.service .rollout');
			return e && e.textContent.trim() === 'IN_PROGRESS';
		}, null, { timeout: 30000, polling: 100 }).then(() => true,
		    () => false);
		h.ok('mid-deployment, the page shows the ECS service rolling out ' +
		    'without a reload', rolling && await page.evaluate(() =>
		    window.sgNoReload) === 42);
		const bar = page.locator('[data-stage="int"] li.service progress');
		h.ok('its progress is a <progress> bar of running out of desired',
		    await bar.count() === 1 &&
		    Number(await bar.getAttribute('max')) >= 1 &&
		    Number(await bar.evaluate((b) => b.value)) <
		    Number(await bar.getAttribute('max')));
		h.ok('the stack events so far are a table, the service updating',
		    /WebService[\s\S]*UPDATE_IN_PROGRESS/.test(await page.locator(
		    '[data-stage="int"] table.events').textContent()));
		await h.screenshot(page.locator('[data-stage="int"]'), 'deploying');
		await waitText(page, '[data-stage="int"] .stage-status',
		    'awaiting_gate', 60000);
		seen.push(await stageStatus(page, 'int'));
		h.fakeConfig({ step_delay: 0.05, ecs_rollout_steps: 2 });
		await page.waitForFunction(() => {
			const e = document.querySelector(
			    '[data-stage="int"] li.service .rollout');
			return e && e.textContent.trim() === 'COMPLETED';
		}, null, { timeout: 10000, polling: 100 }).catch(() => {});
		h.ok('then the bar is full, the deployment COMPLETED',
		    await bar.evaluate((b) => b.value === b.max && b.max > 0) &&
		    (await page.locator('[data-stage="int"] li.service .rollout')
		    .textContent()).trim() === 'COMPLETED');
		h.ok('and the stack event table ends with the stack\'s ' +
		    'UPDATE_COMPLETE, newest first',
		    /UPDATE_COMPLETE/.test(await page.locator(
		    '[data-stage="int"] table.events tbody tr').first()
		    .textContent()));
		// The page as the server draws it (no script has run yet).
		const html = await (await page.request.get('/runs/1')).text();
		h.ok('the page as served has the service\'s bar and the events ' +
		    '(without JavaScript, the last state)',
		    /<li class="service" data-service="web">[\s\S]*?<progress max="(\d+)" value="\1">[\s\S]*?COMPLETED/.test(html) &&
		    /<table class="events">[\s\S]*UPDATE_COMPLETE/.test(html));
		h.ok('Int reaches awaiting_gate on the page without a reload',
		    await page.evaluate(() => window.sgNoReload) === 42,
		    'seen ' + JSON.stringify(seen));
		h.ok('the page showed Int on its way first (' + seen[0] + ')',
		    seen[0] !== 'awaiting_gate' && seen[0] !== 'awaiting_approval',
		    'seen ' + JSON.stringify(seen));
		const approvals = page.locator('table.approvals');
		await approvals.first().waitFor();
		h.like('table.approvals shows alice and her comment',
		    await approvals.first().textContent(),
		    /alice[\s\S]*Change set checked: WebTask replaced/);
		h.ok('table.audit is there', await page.locator('table.audit').count() > 0);
	});

	await h.scenario('project team approves STG', async () => {
		// The gate, on alice's page: Confirm ticked, Authorise promotion.
		const ap = alice.page;
		await ap.goto('/runs/1');
		const gate = ap.locator('form', { has: ap.getByRole('button',
		    { name: 'Authorise promotion' }) });
		h.is('alice has the Authorise promotion form', await gate.count(), 1);
		const confirm = gate.getByLabel('Confirm');
		if (await confirm.count() > 0)
			await confirm.check();
		await submit(ap, gate.getByRole('button', { name: 'Authorise promotion' }));
		let stg = await h.waitStage(1, 'stg', 'awaiting_approval', 30);
		h.ok('authorised on the page, STG waits for its approval', stg);
		if (!stg) {
			h.ctl('authorise', '1', '--as', 'alice', '-m', 'to the client');
			stg = await h.waitStage(1, 'stg', 'awaiting_approval', 60);
			h.diag('authorised with shipgatectl instead: ' + stg);
		}
		const page = bob.page;
		await page.goto('/');
		const waiting = page.locator('section', {
			has: page.getByRole('heading', { name: 'Waiting for you' }),
		});
		h.is('bob\'s "Waiting for you" lists billing 1.4.2: approve stg',
		    await waiting.getByRole('link',
		    { name: 'billing 1.4.2: approve stg' }).count(), 1);
		await page.goto('/runs/1');
		const form = approvalForm(page, 'stg');
		h.is('bob has the STG approval form', await form.count(), 1);
		await submit(page, form.getByRole('button', { name: 'Approve stg' }));
		h.is('bob is back on the run page', new URL(page.url()).pathname, '/runs/1');
		await waitText(page, '[data-stage="stg"] .stage-status', 'done', 60000);
		h.ok('STG is done', true);
		const run = h.showRun(1);
		h.ok('bob\'s STG approval is recorded', run.approvals.some((a) =>
		    a.user === 'bob' && a.env === 'stg' && a.decision === 'approve'));
	});

	await h.scenario('markup in a release message', async () => {
		h.dropRelease({ version: '1.4.3', tag: '1.4.2', message: XSS,
		    params: { DesiredCount: '3' } });
		h.ok('run 2 is created', await h.waitFor(() => h.showRun(2), 60));
		const page = alice.page;
		await page.goto('/runs/2');
		const msg = page.locator('.release-message').first();
		h.is('the message is shown as text', (await msg.textContent()).trim(), XSS);
		h.is('no script element was made of it',
		    await msg.locator('script').count(), 0);
		await page.goto('/runs');
		await page.goto('/');
		await h.sleep(300);
		h.is('no dialog fired', JSON.stringify(page.dialogs), '[]');
	});

	await h.scenario('history', async () => {
		const page = alice.page;
		await page.goto('/runs');
		for (const l of ['App', 'Environment', 'Status', 'Version', 'Author',
		    'From', 'To'])
			h.is('the filter has a control labelled ' + l,
			    await page.getByLabel(l, { exact: true }).count(), 1);
		const rows = page.locator('table.runs tbody tr');
		h.ok('table.runs lists both runs', await rows.count() >= 2);
		await h.screenshot(page, 'history');
		await page.getByLabel('Version', { exact: true }).fill('1.4.2');
		await submit(page, page.getByRole('button', { name: 'Filter' }));
		h.like('the filter is in the URL', page.url(), /version=1\.4\.2/);
		h.is('filtered by version 1.4.2: one run', await rows.count(), 1);
		h.like('it is run 1', await rows.first().textContent(), /1\.4\.2/);
	});

	await h.scenario('freeze from the app page, the opening in the viewer\'s zone', async () => {
		// dave (operators, his browser in Paris) freezes Int from the
		// app page until a 15 January 09:00 in Int's zone (UTC: it has
		// no windows), far enough ahead; a release approved meanwhile
		// waits, and alice, her browser in New York, reads the opening
		// in her zone: 04:00, UTC-05:00 (no daylight saving in
		// January), written by the page's script.
		const now = Date.now();
		let y = new Date(now).getUTCFullYear();
		if (Date.UTC(y, 0, 15, 9) < now + 86400000)
			y++;
		const dave = await h.newUser(browser, 'dave');
		const dp = dave.page;
		await dp.goto('/apps/billing');
		const form = dp.locator('form.freeze');
		h.is('dave has the freeze form', await form.count(), 1);
		await form.getByLabel('Environment', { exact: true }).selectOption('int');
		await dp.locator('#freeze-until').fill(y + '-01-15');
		await dp.locator('#freeze-until-time').fill('09:00');
		await form.getByLabel('Reason (required)').fill('browser freeze');
		await submit(dp, form.getByRole('button', { name: 'Freeze' }));
		h.like('the app page says it is frozen',
		    await dp.locator('.notice').first().textContent(), /Frozen/);
		const row = dp.locator('table.freezes tr[data-env="int"]');
		h.is('the freeze is listed, with a lift button', await row.getByRole(
		    'button', { name: /^Lift freeze / }).count(), 1);

		// A change to execute (a change set with none goes straight
		// to the gate).
		h.dropRelease({ version: '1.4.4', tag: '1.4.2',
		    message: 'after the freeze', params: { DesiredCount: '4' } });
		const id = await h.waitFor(() => {
			const r = h.ctl('--json', 'runs', '--app', 'billing');
			if (r.status !== 0)
				return null;
			const l = JSON.parse(r.stdout).runs.filter((x) =>
			    x.version === '1.4.4');
			return l.length ? l[0].id : null;
		}, 60);
		h.ok('the release after the freeze has a run', id);
		h.ok('it waits for the Int approval',
		    await h.waitStage(id, 'int', 'awaiting_approval', 60));
		const r = h.ctl('approve', String(id), '--env', 'int', '--as',
		    'alice');
		h.is('alice approves it', r.status, 0);
		if (!h.ok('it awaits its window',
		    await h.waitStage(id, 'int', 'awaiting_window', 30)))
			return;

		const ny = await h.newUser(browser, 'alice',
		    { timezoneId: 'America/New_York' });
		await ny.page.goto('/runs/' + id);
		const t = ny.page.locator('[data-stage="int"] time.window-next');
		h.is('the opening is a <time> in UTC', await t.getAttribute(
		    'datetime'), y + '-01-15T09:00:00Z');
		h.is('shown in the viewer\'s zone, named', (await t.textContent()),
		    y + '-01-15 04:00 America/New_York (UTC-05:00, your time zone)');
		h.like('the environment\'s text stays in its title',
		    await t.getAttribute('title'), new RegExp('^In the environment: ' +
		    y + '-01-15 09:00 UTC \\(UTC\\+00:00\\)'));
		await ny.context.close();

		// Lifted from the app page: the run goes on.
		await dp.goto('/apps/billing');
		const lift = dp.locator('table.freezes tr[data-env="int"] form.unfreeze');
		await lift.getByLabel('Comment (required)').fill('sale moved');
		await submit(dp, lift.getByRole('button', { name: /^Lift freeze / }));
		h.is('the freeze is gone from the page', await dp.locator(
		    'table.freezes tr[data-env="int"]').count(), 0);
		h.ok('the run leaves awaiting_window', await h.waitFor(() => {
			const s = h.stageOf(h.showRun(id), 'int');
			return s && s.status !== 'awaiting_window';
		}, 30));
		await dave.context.close();
	});

	await h.scenario('sign-out', async () => {
		const page = alice.page;
		await page.goto('/');
		await Promise.all([page.waitForURL(/\/login/),
		    page.getByRole('button', { name: 'Sign out' }).click()]);
		await page.goto('/runs/1');
		h.like('signed out, a page sends alice to sign in again',
		    new URL(page.url()).pathname, /^\/login/);
	});

	await browser.close();
}

main().catch((e) => {
	h.ok('test-portal.js ran without an exception', false, e && e.stack ?
	    e.stack : String(e));
}).finally(() => process.exit(0));
