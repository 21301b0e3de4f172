'use strict';
// Sign-in through a real OpenID provider (issue 17).  test-oidc.sh starts
// npm's oidc-provider (oidc-provider.mjs: alice in integrator-staff, bob in
// client-staff, eve in visitors), the fake AWS endpoint and shipgated with
// auth.oidc mapping integrator-staff to integrators and client-staff to
// project-team.  Each person goes from shipgate's sign-in page through
// the provider's login and consent pages and back:
//
//   eve's groups map to nothing: a page says so, no session;
//   bob (the client's group) is signed in but cannot approve Int, neither
//   with a button nor with a forged POST;
//   alice lands on the dashboard and approves Int; the approval and the
//   audit name her by her e-mail (the user claim), the audit says
//   "via oidc";
//   a callback replayed (its state and code used once already) and one
//   with a forged state are refused;
//   a reload (SIGHUP) keeps the people signed in;
//   signing out ends the session and goes to the provider's
//   end_session_endpoint;
//   the provider restarted with a new signing key (a kid shipgate has not
//   seen): shipgate fetches the discovery document and key set again and
//   bob signs in.
//
// The codes the browser saw go to $SHIPGATE_TEST_DIR/codes, for
// test-oidc.sh's check that none reached the log or the database.

const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');
const h = require('./harness');

const issuer = process.env.SHIPGATE_OIDC_ISSUER;
const codesFile = path.join(process.env.SHIPGATE_TEST_DIR, 'codes');
const callbacks = [];

// Every callback URL a page asks for: its code is a secret to look for.
function watchCallbacks(page) {
	page.on('request', (req) => {
		const u = new URL(req.url());
		if (u.pathname !== '/auth/oidc/callback')
			return;
		callbacks.push(req.url());
		const code = u.searchParams.get('code');
		if (code)
			fs.appendFileSync(codesFile, code + '\n');
	});
}

// providerSignIn(PAGE, LOGIN, BACK): from shipgate's sign-in page through
// the provider's login and consent pages, until the browser is back on
// shipgate at a path BACK(pathname) accepts.
async function providerSignIn(page, login, back) {
	await page.goto('/login');
	const button = page.locator('#oidc-signin');
	h.ok(login + ': the sign-in page offers the identity provider',
	    await button.isVisible());
	await Promise.all([
		page.waitForURL((u) => u.origin === issuer),
		button.click(),
	]);
	const name = page.locator('input[name="login"]');
	await name.waitFor();
	h.ok(login + ': on the provider\'s login page',
	    new URL(page.url()).origin === issuer);
	await name.fill(login);
	await page.locator('input[name="password"]').fill('correct horse');
	await page.getByRole('button', { name: 'Sign-in' }).click();
	const consent = page.getByRole('button', { name: 'Continue' });
	await consent.waitFor();
	h.ok(login + ': on the provider\'s consent page',
	    new URL(page.url()).origin === issuer);
	await Promise.all([
		page.waitForURL((u) => u.origin === h.portal && back(u.pathname)),
		consent.click(),
	]);
}

async function person(browser, login, back) {
	const u = await h.newUser(browser, null);
	watchCallbacks(u.page);
	await providerSignIn(u.page, login, back ||
	    ((p) => p !== '/auth/oidc/callback'));
	return u;
}

async function hasSession(context) {
	return (await context.cookies()).some((c) => c.name === 'sg_session');
}

async function main() {
	const browser = await h.launch();
	let bob, alice;

	h.dropRelease({ version: '1.4.2', tag: '1.4.2', message: 'OIDC run' });
	h.ok('run 1 waits for the Int approval',
	    await h.waitStage(1, 'int', 'awaiting_approval', 60));

	await h.scenario('groups that map to nothing', async () => {
		const eve = await person(browser, 'eve',
		    (p) => p === '/auth/oidc/callback');
		const page = eve.page;
		h.like('eve is told none of her groups gives access',
		    await page.getByRole('alert').first().textContent(),
		    /none of your groups there gives access to shipgate/);
		h.ok('eve has no session cookie', !(await hasSession(eve.context)));
		await page.goto('/');
		h.like('eve is not signed in: / sends her to the sign-in page',
		    new URL(page.url()).pathname, /^\/login/);
		await eve.context.close();
	});

	await h.scenario('the client\'s group cannot approve Int', async () => {
		bob = await person(browser, 'bob');
		const page = bob.page;
		h.is('bob lands on the dashboard', new URL(page.url()).pathname, '/');
		h.like('the page names bob by his e-mail (the user claim)',
		    await page.locator('body').textContent(), /bob@client\.example/);
		await page.goto('/runs/1');
		h.is('bob has no Approve int button', await page.getByRole('button',
		    { name: 'Approve int' }).count(), 0);
		const r = await bob.context.request.post('/runs/1/approve', {
			form: { csrf: await h.csrfOf(page), env: 'int',
			    comment: 'forged by bob', confirm: '1' },
			maxRedirects: 0,
			headers: { Origin: h.portal, Referer: h.portal + '/runs/1' },
		});
		h.ok('a forged approval POST by bob is refused',
		    r.status() >= 400 || /may not approve/.test(await r.text()),
		    'status ' + r.status());
		const run = h.showRun(1);
		h.ok('nothing was recorded: Int still waits',
		    run && h.stageOf(run, 'int').status === 'awaiting_approval' &&
		    run.approvals.length === 0, JSON.stringify(run && run.approvals));
	});

	await h.scenario('the integrator signs in and approves', async () => {
		alice = await person(browser, 'alice');
		const page = alice.page;
		h.is('alice lands on the dashboard', new URL(page.url()).pathname, '/');
		h.ok('she is signed in: a Sign out button',
		    await page.getByRole('button', { name: 'Sign out' }).isVisible());
		await h.screenshot(page, 'oidc-dashboard');
		await page.goto('/runs/1');
		const form = page.locator('form', {
			has: page.getByRole('button', { name: 'Approve int' }),
		});
		h.is('alice has the Int approval form', await form.count(), 1);
		await form.getByLabel('Comment').fill('checked, via the IdP');
		await Promise.all([page.waitForEvent('load'),
		    form.getByRole('button', { name: 'Approve int' }).click()]);
		h.ok('the approval is recorded under her e-mail', await h.waitFor(() => {
			const run = h.showRun(1);
			return run && run.approvals.some((a) =>
			    a.user === 'alice@integrator.example' &&
			    a.decision === 'approve');
		}, 15));
		await page.goto('/audit');
		const rows = await page.locator('tr', { hasText: 'via oidc' })
		    .allTextContents();
		h.ok('the audit says alice approved via oidc', rows.some((t) =>
		    /alice@integrator\.example/.test(t) && /approve/.test(t)),
		    JSON.stringify(rows));
	});

	await h.scenario('a callback is good once', async () => {
		const used = callbacks.find((u) => /[?&]code=/.test(u) &&
		    /[?&]state=/.test(u));
		if (!used)
			throw new Error('no callback URL seen');
		const u = await h.newUser(browser, null);
		const resp = await u.page.goto(used);
		h.is('a replayed callback (state and code used) gets 400',
		    resp.status(), 400);
		h.like('it says the sign-in is used',
		    await u.page.getByRole('alert').first().textContent(),
		    /unknown, expired or already used/);
		h.ok('and gives no session', !(await hasSession(u.context)));
		const forged = await u.page.goto('/auth/oidc/callback?state=' +
		    'A'.repeat(43) + '&code=whatever');
		h.is('a forged state gets 400', forged.status(), 400);
		h.ok('and no session', !(await hasSession(u.context)));
		await u.context.close();
	});

	await h.scenario('a reload keeps the people signed in', async () => {
		const log = process.env.SHIPGATE_DAEMON_LOG;
		const before = (fs.readFileSync(log, 'utf8')
		    .match(/configuration reloaded/g) || []).length;
		process.kill(Number(process.env.SHIPGATE_DAEMON_PID), 'SIGHUP');
		h.ok('shipgated reloaded its configuration', await h.waitFor(() =>
		    (fs.readFileSync(log, 'utf8')
		    .match(/configuration reloaded/g) || []).length > before, 30));
		const page = alice.page;
		await page.goto('/runs/1');
		h.is('alice is still signed in after the reload',
		    new URL(page.url()).pathname, '/runs/1');
	});

	await h.scenario('sign-out', async () => {
		const page = alice.page;
		await page.goto('/');
		await Promise.all([
			page.waitForURL((u) => u.origin === issuer),
			page.getByRole('button', { name: 'Sign out' }).click(),
		]);
		h.like('signing out goes to the provider\'s end_session_endpoint',
		    new URL(page.url()).pathname, /\/session\/end/);
		const r = await alice.context.request.get(h.portal + '/', {
			maxRedirects: 0 });
		h.ok('the shipgate session is over (/ redirects to /login)',
		    r.status() === 303 && /\/login/.test(r.headers().location || ''),
		    'status ' + r.status());
	});

	await h.scenario('the provider rotates its key', async () => {
		const old = Number(process.env.SHIPGATE_OIDC_PROVIDER_PID);
		process.kill(old, 'SIGTERM');
		const gone = await h.waitFor(() => {
			try {
				process.kill(old, 0);
				return false;
			} catch (e) {
				return true;
			}
		}, 10);
		h.ok('the first provider stopped', gone);
		const child = childProcess.spawn('node', [
		    path.join(__dirname, 'oidc-provider.mjs'),
		    ...process.env.SHIPGATE_OIDC_PROVIDER_ARGS.split(' '),
		    'test-rs256-2'], { stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		child.stdout.on('data', (b) => { out += b; });
		try {
			h.ok('the provider is back with key test-rs256-2',
			    await h.waitFor(() => /^ready /m.test(out), 30));
			const u = await person(browser, 'bob');
			h.is('bob signs in with a token of the new key',
			    new URL(u.page.url()).pathname, '/');
			await u.context.close();
		} finally {
			child.kill('SIGTERM');
		}
	});

	await browser.close();
}

main().catch((e) => {
	h.ok('test-oidc.js ran to its end', false, e && e.stack ? e.stack : e);
}).finally(() => process.exit(0));
