'use strict';
// The browser tests' harness (test-browser.sh starts the servers and sets
// the environment): TAP lines, the fake AWS endpoint and shipgatectl
// from node, Debian's chromium through playwright-core, users signed in.
//
//   SHIPGATE_PORTAL_URL   http://127.0.0.1:PORT of shipgated's portal
//   SHIPGATE_FAKE_URL     the fake AWS endpoint
//   SHIPGATE_CONFIG       shipgated's configuration (for shipgatectl)
//   SHIPGATE_TEST_DIR     the test's temporary directory (removed after)
//   SHIPGATE_SCREENSHOTS  where screenshots go
//   SHIPGATE_NODE_MODULES the node_modules holding playwright-core
//   SHIPGATE_CHROMIUM     the browser (/usr/bin/chromium)
//   SHIPGATECTL, TEST_PYTHON, top_srcdir

const fs = require('fs');
const path = require('path');
const childProcess = require('child_process');

const env = process.env;
const portal = env.SHIPGATE_PORTAL_URL;
const testDir = env.SHIPGATE_TEST_DIR;
const python = env.TEST_PYTHON || '/usr/bin/python3';
const password = 'demo';	// conf/demo.yaml's users

// playwright-core's temporary profile (a fresh --user-data-dir) and
// anything else node writes to the temporary directory land in the test's
// directory, removed by test-browser.sh.
env.TMPDIR = testDir;
const { chromium } = require(path.join(env.SHIPGATE_NODE_MODULES,
    'playwright-core'));

// --- TAP ------------------------------------------------------------------
// Lines only; test-browser.sh adds its own and the plan, reading the
// counts from tap.count (written after every line, so a crash keeps them).
let count = 0;
let failed = 0;

function diag(text) {
	for (const line of String(text).split('\n'))
		console.log('# ' + line);
}

function ok(name, cond, detail) {
	count++;
	if (!cond)
		failed++;
	console.log((cond ? 'ok ' : 'not ok ') + count + ' - ' + name);
	if (!cond && detail !== undefined)
		diag(detail);
	fs.writeFileSync(path.join(testDir, 'tap.count'),
	    count + ' ' + failed + '\n');
	return cond;
}

function is(name, got, want) {
	return ok(name, got === want,
	    'got:  ' + JSON.stringify(got) + '\nwant: ' + JSON.stringify(want));
}

function like(name, got, re) {
	return ok(name, re.test(String(got)),
	    'got:  ' + JSON.stringify(got) + '\nwant: ' + re);
}

// scenario(NAME, FN): runs FN; an exception (a timeout waiting for an
// element, say) is one failed line naming the scenario, and the next
// scenario still runs.
async function scenario(name, fn) {
	const t0 = Date.now();
	try {
		await fn();
	} catch (e) {
		ok(name + ': ran to its end', false, e && e.stack ?
		    e.stack : String(e));
	}
	diag(name + ': ' + (Date.now() - t0) + ' ms');
}

// --- the servers ----------------------------------------------------------
function run(cmd, args, opts) {
	const r = childProcess.spawnSync(cmd, args, Object.assign({
		encoding: 'utf8', timeout: 60000 }, opts || {}));
	if (r.error)
		throw r.error;
	return r;
}

// ctl(ARGS...): shipgatectl against the test's daemon; {status, stdout,
// stderr}.
function ctl(...args) {
	return run(env.SHIPGATECTL, ['-c', env.SHIPGATE_CONFIG, ...args]);
}

// showRun(ID): the run as `shipgatectl --json show` gives it, or null.
function showRun(id) {
	const r = ctl('--json', 'show', String(id));
	if (r.status !== 0)
		return null;
	try {
		return JSON.parse(r.stdout).run;
	} catch (e) {
		return null;
	}
}

function stageOf(runObj, envName) {
	for (const s of (runObj && runObj.stages) || [])
		if (s.env === envName)
			return s;
	return null;
}

function sleep(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

// waitFor(FN, SECONDS): FN() until it returns a true value; that value,
// or null at the deadline.
async function waitFor(fn, seconds) {
	const end = Date.now() + (seconds || 60) * 1000;
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > end)
			return null;
		await sleep(100);
	}
}

// waitStage(RUN, ENV, STATUS[, SECONDS]): true once the stage is there.
async function waitStage(id, envName, status, seconds) {
	const got = await waitFor(() => {
		const s = stageOf(showRun(id), envName);
		return s && s.status === status;
	}, seconds);
	if (!got) {
		const r = showRun(id);
		diag('run ' + id + ' waiting for ' + envName + ' ' + status +
		    ': ' + JSON.stringify(r ? r.stages.map((s) =>
		    [s.env, s.status]) : null));
	}
	return !!got;
}

// dropRelease({version, tag, message, params, imageParameters}): a
// release zip dropped in
// the sandbox's bucket, as an integrator's build does.
function dropRelease(o) {
	const args = [path.join(env.top_srcdir, 'tests/fakeaws/drop-release.py'),
	    '--endpoint', env.SHIPGATE_FAKE_URL, '--version', o.version,
	    '--tag', o.tag || o.version, '--message', o.message || 'a release'];
	for (const [k, v] of Object.entries(o.params || {}))
		args.push('--param', k + '=' + v);
	for (const [k, v] of Object.entries(o.imageParameters || {}))
		args.push('--image-parameter', k + '=' + v);
	const r = run(python, args);
	if (r.status !== 0)
		throw new Error('drop-release.py failed: ' + r.stderr);
	return r.stdout.trim();
}

// fakeConfig(OBJ): the fake AWS endpoint's settings (POST /_fake/config),
// e.g. {step_delay: 0.3} to slow CloudFormation and ECS down.
function fakeConfig(obj) {
	const r = run(python, ['-c', 'import sys, urllib.request\n' +
	    'req = urllib.request.Request(sys.argv[1] + "/_fake/config", ' +
	    'data=sys.argv[2].encode(), method="POST", ' +
	    'headers={"Content-Type": "application/json"})\n' +
	    'urllib.request.urlopen(req, timeout=30).read()',
	    env.SHIPGATE_FAKE_URL, JSON.stringify(obj)]);
	if (r.status !== 0)
		throw new Error('/_fake/config failed: ' + r.stderr);
}

// --- the browser ----------------------------------------------------------
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu',
    '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'];

// One chromium for the whole test (playwright gives it a fresh profile
// directory); a context per user keeps their cookies apart.
function launch() {
	return chromium.launch({
		executablePath: env.SHIPGATE_CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: chromiumArgs,
		timeout: 60000,
	});
}

// newUser(BROWSER, NAME): a context and page of its own, signed in as NAME
// through the sign-in form.  Any dialog (alert) is counted in
// page.dialogs and dismissed.
async function newUser(browser, name, opts) {
	const context = await browser.newContext(Object.assign({
		baseURL: portal,
		viewport: { width: 1200, height: 800 },
		timezoneId: 'Europe/Paris',
		locale: 'en-GB',
	}, opts || {}));
	context.setDefaultTimeout(30000);
	const page = await context.newPage();
	page.dialogs = [];
	page.on('dialog', (d) => {
		page.dialogs.push(d.message());
		d.dismiss().catch(() => {});
	});
	if (name)
		await signIn(page, name);
	return { context, page };
}

async function signIn(page, name) {
	await page.goto('/login');
	await page.getByLabel('User name').fill(name);
	await page.getByLabel('Password').fill(password);
	await Promise.all([
		page.waitForURL((u) => !u.pathname.startsWith('/login')),
		page.getByRole('button', { name: 'Sign in' }).click(),
	]);
}

// csrfOf(PAGE): the page's CSRF token (the sign-out form carries one on
// every page).
function csrfOf(page) {
	return page.locator('input[name="csrf"]').first().inputValue();
}

// screenshot(PAGE, NAME): BUILD/tests/browser/screenshots/NAME.png, and
// docs/screenshots/NAME.png when SHIPGATE_UPDATE_SCREENSHOTS=1.  PAGE
// may be a locator: that element only.
async function screenshot(page, name) {
	const file = path.join(env.SHIPGATE_SCREENSHOTS, name + '.png');
	if (typeof page.goto === 'function')
		await page.screenshot({ path: file, fullPage: true });
	else
		await page.screenshot({ path: file });
	if (env.SHIPGATE_UPDATE_SCREENSHOTS === '1') {
		const dir = path.join(env.top_srcdir, 'docs', 'screenshots');
		fs.mkdirSync(dir, { recursive: true });
		fs.copyFileSync(file, path.join(dir, name + '.png'));
	}
	return file;
}

module.exports = {
	portal, ok, is, like, diag, scenario, ctl, showRun, stageOf, waitFor,
	waitStage, dropRelease, fakeConfig, launch, newUser, signIn, csrfOf, screenshot,
	sleep, counts: () => ({ count, failed }),
};
