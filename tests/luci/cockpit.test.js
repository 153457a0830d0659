'use strict';
/*
 * The owner's cockpit (issue 15): the effective policy, a fix for every fixable exposure,
 * remedies for LuCI users, read-only logins and refused calls, following the daemon, and
 * an incomplete audit.
 */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { callsTo, text } = h;

function card(luci, id) {
	return luci.document.querySelector('.cg-finding[data-id="' + id + '"]');
}

test('overview: "recommended" is judged on the effective policy, options missing from the file included', async () => {
	const data = h.fixtures();
	const main = data.uci_camguard.values.main;

	/* set by hand: enforce and UPnP; forwards and camera_internet left at the daemon's defaults */
	main.enforce = '1';
	main.upnp = 'restricted';
	delete main.forwards;
	delete main.camera_internet;

	let luci = await h.renderView('overview', { data });
	assert.match(text(luci.document.getElementById('view')), /You use the recommended policy/);
	assert.equal(h.button(luci, 'Apply the recommended policy…'), null);

	/* stricter than recommended (UPnP off, enforcement on as "yes") counts too */
	main.upnp = 'off';
	main.enforce = 'yes';
	luci = await h.renderView('overview', { data });
	assert.equal(h.button(luci, 'Apply the recommended policy…'), null);

	/* but not without enforcement */
	main.enforce = '0';
	luci = await h.renderView('overview', { data });
	assert.ok(h.button(luci, 'Apply the recommended policy…'));
});

test('overview: the critical every-port forward gets a Fix button that enforces the fix for its forward', async () => {
	const luci = await h.renderView('overview');
	const dmz = card(luci, 'forward.dmz');
	const subject = h.fixtures().status.findings.find(f => f.id == 'forward.dmz').subject;

	assert.equal(h.fixtures().status.findings.find(f => f.id == 'forward.dmz').fix, null, 'the report gives it no fix of its own');

	await h.click(luci, h.button(luci, 'Fix this…', dmz));
	assert.match(text(h.modal(luci)), /Every port is forwarded to nvr-garage/);
	assert.match(text(h.modal(luci)), /disable port forward "DVR remote"/);
	await h.click(luci, h.button(luci, 'Fix it', h.modal(luci)));

	assert.deepEqual(callsTo(luci, 'camguard', 'enforce'), [ { dry_run: false, finding: 'forward.not_allowed', subject } ]);

	/* a finding with nothing to fix about its subject has no button */
	assert.equal(h.button(luci, 'Fix this…', card(luci, 'upnp.acl_permissive')), null);
});

test('overview: remedies show code as code, never backticks, with the LuCI page to go to', async () => {
	const luci = await h.renderView('overview');
	const notAllowed = card(luci, 'forward.not_allowed');
	const remedy = notAllowed.querySelector('.cg-remedy');

	assert.doesNotMatch(remedy.textContent, /`/);
	assert.deepEqual(Array.from(remedy.querySelectorAll('code')).map(c => c.textContent), [ 'camguard enforce', 'config allow_forward' ]);

	const link = notAllowed.querySelector('.cg-luci-path a');
	assert.equal(link.textContent, 'Network → Firewall → Port Forwards');
	assert.equal(link.getAttribute('href'), '/cgi-bin/luci/admin/network/firewall/forwards');

	assert.match(text(card(luci, 'camera.internet').querySelector('.cg-luci-path')), /Services → Camguard → Devices/);
	assert.doesNotMatch(luci.document.getElementById('view').textContent, /`/);
});

test('overview: an unpaired backtick in a remedy stays as text', async () => {
	const data = h.fixtures();
	data.status.findings[0].remedy = 'a ` alone';

	const luci = await h.renderView('overview', { data });
	assert.match(card(luci, data.status.findings[0].id).querySelector('.cg-remedy').textContent, /a ` alone/);
});

/* Every button that changes the router, per view. */
const WRITE_BUTTONS = {
	overview: [ 'Audit now', 'Fix this…', 'Apply the recommended policy…', 'Undo' ],
	exposure: [ 'Revoke', 'Disable' ]
};

for (const [ view, labels ] of Object.entries(WRITE_BUTTONS)) {
	test(view + ': a read-only login sees why, and every button that would change the router is disabled', async () => {
		const luci = await h.renderView(view, { readonly: true });
		const buttons = Array.from(luci.document.querySelectorAll('#view button')).filter(b => labels.includes(b.textContent.trim()));

		assert.match(text(luci.document.querySelector('.cg-readonly')), /You are logged in without permission to change camguard/);
		assert.deepEqual(labels.filter(l => !buttons.some(b => b.textContent.trim() == l)), [], 'every kind of button is there');

		for (const b of buttons) {
			assert.ok(b.disabled, b.textContent + ' is disabled');
			assert.match(b.getAttribute('title'), /without permission/);
		}

		/* the rest of the page still works: no refused call was made */
		assert.deepEqual(h.notifications(luci), []);
	});
}

test('devices: a read-only login gets a disabled grid and footer, and a stray Save & Apply explains itself', async () => {
	const luci = await h.renderView('devices', { readonly: true });

	assert.match(text(luci.document.querySelector('.cg-readonly')), /without permission to change camguard/);
	assert.ok(luci.document.querySelectorAll('#cg-devices input, #cg-devices select').length > 10);
	assert.ok(Array.from(luci.document.querySelectorAll('#cg-devices input, #cg-devices select')).every(w => w.disabled));

	for (const label of [ 'Save & Apply', 'Save', 'Reset' ])
		assert.ok(h.button(luci, label).disabled, label + ' is disabled');

	/* a faded button that still reacts: a notification, no uncaught error, nothing written */
	await luci.view.handleSaveApply(null, '0');
	assert.ok(h.notifications(luci).some(n => /without permission to change camguard/.test(n)));
	assert.deepEqual(callsTo(luci, 'uci', 'apply'), []);
});

test('settings: a read-only login gets a read-only form (LuCI asks rpcd whether it may write uci camguard)', async () => {
	const luci = await h.renderView('settings', { readonly: true });

	assert.deepEqual(callsTo(luci, 'session', 'access'), [ { scope: 'uci', object: 'camguard', function: 'write' } ]);
	assert.ok(Array.from(luci.document.querySelectorAll('.cbi-map input, .cbi-map select')).every(w => w.disabled));
	assert.ok(h.button(luci, 'Add').disabled);
	assert.ok(h.button(luci, 'Save & Apply').disabled);
	assert.match(text(luci.document.querySelector('.cg-readonly')), /without permission/);

	/* the faded Save & Apply still reacts in LuCI: a notification, nothing sent */
	for (const handler of [ 'handleSaveApply', 'handleSave' ])
		await luci.view[handler](null, '0');
	assert.equal(h.notifications(luci).filter(n => /without permission to change camguard/.test(n)).length, 2);
	assert.deepEqual(callsTo(luci, 'uci', 'set'), []);
	assert.deepEqual(callsTo(luci, 'uci', 'apply'), []);
});

test('settings: a login that may write saves through LuCI\'s own Save & Apply', async () => {
	const luci = await h.renderView('settings');

	await luci.view.handleSaveApply(null, '0');
	assert.deepEqual(h.notifications(luci), []);
	assert.equal(callsTo(luci, 'uci', 'apply').length, 1);
});

test('a call refused by uhttpd (the page thought it could write) becomes a readable notification', async () => {
	/* the ACL changed after the page loaded: the page shows buttons, uhttpd refuses with -32002 */
	const refused = { error: { code: -32002, message: 'Access denied' } };
	const luci = await h.renderView('exposure', { replies: { 'camguard.revoke': refused, 'camguard.enforce': refused } });

	await h.click(luci, h.button(luci, 'Revoke'));
	await h.click(luci, h.button(luci, 'Revoke', h.modal(luci)));
	assert.deepEqual(h.notifications(luci).map(n => /You are logged in without permission to change camguard/.test(n)), [ true ]);

	/* the dry run of Disable is refused too: same words, no dialog with raw text */
	await h.click(luci, h.button(luci, 'Disable'));
	assert.equal(h.notifications(luci).length, 2);
	assert.doesNotMatch(luci.document.body.textContent, /RPC call|-32002|rpc\.js/);
	assert.ok(!luci.document.body.classList.contains('modal-overlay-active'));
});

test('an enforce refused because the daemon reads a saved snapshot says so', async () => {
	const luci = await h.renderView('overview', { replies: { 'camguard.enforce': 8 } });

	await h.click(luci, h.button(luci, 'Fix this…'));
	await h.click(luci, h.button(luci, 'Fix it', h.modal(luci)));

	assert.ok(h.notifications(luci).some(n => /reads a saved copy of a router/.test(n)));
});

test('overview: follows the daemon, redrawing when it audits again or its journal changes', async () => {
	const data = h.fixtures();
	const luci = await h.renderView('overview', { data });
	const journalRows = () => luci.document.querySelectorAll('.cg-journal tr[data-entry]').length;

	assert.equal(luci.shim.poll.queue.length, 1);
	assert.equal(journalRows(), 2);

	/* nothing changed: the page is not rebuilt */
	const before = luci.document.querySelector('.cg-summary');
	await luci.shim.poll.step();
	await h.settle(luci);
	assert.equal(luci.document.querySelector('.cg-summary'), before);

	/* the daemon enforced by itself */
	luci.daemon.addEntry('enforce', [ { kind: 'uci_set', config: 'firewall', section: 'cfg093837', option: 'enabled', value: '0', why: 'disable port forward "DVR remote"' } ]);
	await luci.shim.poll.step();
	await h.settle(luci);
	assert.equal(journalRows(), 3);

	/* a new audit with a new score */
	luci.replies['camguard.status'] = Object.assign({}, data.status, { time: data.status.time + 300, score: 40 });
	await luci.shim.poll.step();
	await h.settle(luci);
	assert.match(text(luci.document.querySelector('.cg-score')), /^40 \/ 100/);
});

test('overview: an incomplete audit shows what could not be read and never claims a clean router', async () => {
	const data = h.fixtures();

	data.status.findings = [];
	data.status.counts = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
	data.status.score = 100;
	data.status.coverage = {
		complete: false,
		sources: [
			{ what: 'firewall config', path: '/etc/config/firewall', state: 'read' },
			{ what: 'UPnP lease file', path: '/var/run/miniupnpd.leases', state: 'unreadable', detail: 'permission denied' },
			{ what: 'DHCP leases', path: '/tmp/dhcp.leases', state: 'truncated', detail: '17000000 bytes; camguard read the first 16777200 and did not audit the rest' },
			{ what: 'live firewall ruleset', path: 'nft -j list table inet fw4', state: 'absent' }
		]
	};
	data.mappings.mappings = [];
	data.forwards.forwards = [];

	const luci = await h.renderView('overview', { data });
	const coverage = text(luci.document.querySelector('.cg-coverage'));

	assert.match(coverage, /This audit is incomplete/);
	assert.match(coverage, /UPnP lease file \(\/var\/run\/miniupnpd\.leases\): could not be read — permission denied/);
	assert.match(coverage, /DHCP leases \(\/tmp\/dhcp\.leases\): only partly read/);
	/* absent is normal on OpenWrt (no nft dump asked for, no miniupnpd): not a gap to list */
	assert.doesNotMatch(coverage, /live firewall ruleset/);
	assert.doesNotMatch(coverage, /firewall config /);
	assert.match(text(luci.document.querySelector('.cg-score')), /incomplete audit/);

	const page = text(luci.document.getElementById('view'));
	assert.doesNotMatch(page, /nothing on this router exposes your cameras/);
	assert.doesNotMatch(page, /Nothing on your network can be reached/);
	assert.match(page, /not a clean bill of health/);
});

test('overview: a complete audit shows no coverage box', async () => {
	const data = h.fixtures();
	data.status.coverage = { complete: true, sources: [ { what: 'UPnP leases', path: '/x', state: 'read', detail: null } ] };

	const luci = await h.renderView('overview', { data });
	assert.equal(luci.document.querySelector('.cg-coverage'), null);
});
