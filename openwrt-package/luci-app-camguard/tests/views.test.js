'use strict';
/* What the views show, and which ubus methods their buttons call with which arguments. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

/* The arguments of each call, as plain objects of this realm (the page has its own). */
function callsTo(luci, object, method) {
	return JSON.parse(JSON.stringify(luci.calls.filter(c => c.object == object && c.method == method).map(c => c.args)));
}

/* Text as a person reads it: blocks and cells apart, runs of white space as one. */
function text(node) {
	const copy = node.cloneNode(true);

	copy.querySelectorAll('p, div, li, td, th, br, small, h3, h4, option, summary').forEach(el => el.append(' '));

	return copy.textContent.replace(/\s+/g, ' ').trim();
}

test('overview: score, counts, findings grouped by severity with their remedy', async () => {
	const luci = await h.renderView('overview');
	const page = text(luci.document.getElementById('view'));

	assert.match(page, /0 \/ 100/);
	assert.match(page, /Critical 1/);
	assert.match(page, /hendersons-router/);
	assert.match(page, /What to do: Disable this redirect/);

	const headings = Array.from(luci.document.querySelectorAll('h3')).map(text);
	const order = [ 'Critical', 'High', 'Medium', 'Low', 'Information' ].map(l => headings.findIndex(t => t.startsWith(l)));
	assert.ok(order.every((i, n) => i > -1 && (n == 0 || i > order[n - 1])), 'severity groups in order: ' + headings);

	/* problems the audit met are listed */
	assert.match(page, /70000/);
	/* no footer buttons: nothing here is a form */
	assert.equal(luci.document.querySelector('.cbi-page-actions'), null);
});

test('overview: a fix is confirmed, applied with enforce {finding, subject}, and can be undone', async () => {
	const luci = await h.renderView('overview');
	const data = h.fixtures();
	const finding = data.status.findings.find(f => f.id == 'forward.not_allowed');

	/* buttons only where the finding has fix.actions */
	const fixable = data.status.findings.filter(f => f.fix && f.fix.actions.length).length;
	assert.equal(luci.document.querySelectorAll('.cg-finding button').length, fixable);

	const card = Array.from(luci.document.querySelectorAll('.cg-finding')).find(c => text(c).includes(finding.title));
	await h.click(luci, h.button(luci, 'Fix this…', card));

	assert.match(text(h.modal(luci)), /disable port forward "DVR remote"/);
	assert.deepEqual(callsTo(luci, 'camguard', 'enforce'), [], 'nothing runs before the owner confirms');

	await h.click(luci, h.button(luci, 'Fix it', h.modal(luci)));
	assert.deepEqual(callsTo(luci, 'camguard', 'enforce'), [
		{ dry_run: false, finding: 'forward.not_allowed', subject: finding.subject }
	]);
	assert.match(text(h.modal(luci)), /Journal entry: 20261125T130000Z-1/);

	await h.click(luci, h.button(luci, 'Undo', h.modal(luci)));
	assert.deepEqual(callsTo(luci, 'camguard', 'revert'), [ { id: '20261125T130000Z-1' } ]);
	assert.match(text(h.modal(luci)), /Undid 1 change/);
});

test('overview: a failed enforce shows the ubus error instead of a result', async () => {
	const luci = await h.renderView('overview', { replies: { 'camguard.enforce': 6 } });

	await h.click(luci, h.button(luci, 'Fix this…'));
	await h.click(luci, h.button(luci, 'Fix it', h.modal(luci)));

	assert.match(text(h.modal(luci)), /camguard could not enforce: Permission denied/);
});

test('overview: undo of a journal entry sends revert {id}', async () => {
	const luci = await h.renderView('overview');

	/* the reverted entry has no button */
	assert.equal(luci.document.querySelectorAll('.table button').length, 1);

	await h.click(luci, h.button(luci, 'Undo', luci.document.querySelector('.table')));
	await h.click(luci, h.button(luci, 'Undo', h.modal(luci)));

	assert.deepEqual(callsTo(luci, 'camguard', 'revert'), [ { id: '20261125T120000Z-1' } ]);
	assert.match(text(h.modal(luci)), /Undid 1 change/);
});

test('overview: the recommended policy is explained, written with uci, applied, then enforced', async () => {
	const data = h.fixtures();

	/* a forward that is not on the allowlist and goes to a NAS: the owner may keep it */
	data.forwards.forwards.push({
		section: 'cfg0c3837', name: 'Nextcloud', enabled: true, protocols: [ 'tcp' ],
		src_dport: { lo: 443, hi: 443 }, dest_ip: '192.168.1.10', dest_port: null, every_port: false,
		device: null, allowed: false, why: 'not on the allowlist (forwards \'allowlist\')'
	});

	const luci = await h.renderView('overview', { data });

	await h.click(luci, h.button(luci, 'Apply the recommended policy…'));
	const dialog = text(h.modal(luci));

	assert.match(dialog, /UPnP restricted/);
	assert.match(dialog, /DVR remote/);                    /* will be disabled */
	assert.match(dialog, /reolink-front/);                 /* camera mapping to be removed */
	assert.doesNotMatch(dialog, /Plex/);                   /* on the allowlist already */
	assert.equal(h.modal(luci).querySelectorAll('input[type=checkbox]').length, 1, 'only Nextcloud can be kept');
	assert.deepEqual(callsTo(luci, 'uci', 'set'), [], 'nothing is written before the owner confirms');

	const keep = h.modal(luci).querySelector('input[type=checkbox]');
	keep.checked = true;
	keep.dispatchEvent(new luci.window.Event('change'));

	await h.click(luci, h.button(luci, 'Apply the recommended policy', h.modal(luci)));

	assert.deepEqual(luci.uciStore.camguard.main.enforce, '1');
	assert.deepEqual(luci.uciStore.camguard.main.upnp, 'restricted');
	assert.deepEqual(luci.uciStore.camguard.main.forwards, 'allowlist');
	assert.deepEqual(luci.uciStore.camguard.main.camera_internet, 'allow');
	assert.ok(Object.values(luci.uciStore.camguard).some(s => s['.type'] == 'allow_forward' && s.redirect == 'Nextcloud'));
	assert.equal(callsTo(luci, 'uci', 'apply').length, 1);
	assert.equal(callsTo(luci, 'uci', 'confirm').length, 1);

	const methods = luci.calls.map(c => c.object + '.' + c.method);
	assert.ok(methods.lastIndexOf('camguard.enforce') > methods.indexOf('uci.confirm'), 'enforce runs after the policy is applied');
	assert.deepEqual(callsTo(luci, 'camguard', 'enforce'), [ { dry_run: false } ]);
	assert.match(text(h.modal(luci)), /Journal entry: 20261125T130000Z-1/);

	/* undo puts the previous policy back, then reverts the journal entry */
	await h.click(luci, h.button(luci, 'Undo', h.modal(luci)));
	assert.equal(luci.uciStore.camguard.main.enforce, '0');
	assert.equal(luci.uciStore.camguard.main.upnp, 'off');
	assert.ok(!Object.values(luci.uciStore.camguard).some(s => s.redirect == 'Nextcloud'));
	assert.deepEqual(callsTo(luci, 'camguard', 'revert'), [ { id: '20261125T130000Z-1' } ]);
});

test('overview: the recommended policy refuses to apply other unsaved LuCI changes with it', async () => {
	const luci = await h.renderView('overview', {
		replies: { 'uci.changes': { changes: { network: [ [ 'set', 'lan', 'ipaddr', '10.0.0.1' ] ] } } }
	});

	await h.click(luci, h.button(luci, 'Apply the recommended policy…'));

	assert.match(text(h.modal(luci)), /unsaved changes in: network/);
	assert.deepEqual(callsTo(luci, 'uci', 'apply'), []);
});

test('every view says so when camguard does not answer', async () => {
	for (const name of [ 'overview', 'exposure', 'devices' ]) {
		const luci = await h.renderView(name, {
			replies: Object.fromEntries([ 'status', 'journal', 'mappings', 'forwards', 'findings', 'devices' ]
				.map(m => [ 'camguard.' + m, { error: { code: -32000, message: 'Object not found' } } ]))
		});
		assert.match(text(luci.document.getElementById('view')), /camguard is not answering/, name);
	}
});

test('exposure: mappings and forwards side by side, with device, class, ports, expiry and verdict', async () => {
	const luci = await h.renderView('exposure');
	const sections = luci.document.querySelectorAll('#view .cbi-section');

	assert.equal(sections.length, 2);
	const mappings = text(sections[0]);
	const forwards = text(sections[1]);

	assert.match(mappings, /reolink-front \(Camera, Reolink\)/);
	assert.match(mappings, /554\/TCP → 192\.168\.1\.64:554/);
	assert.match(mappings, /never \(permanent\)/);
	assert.match(mappings, /in 2 days/);
	assert.match(mappings, /Against your policy/);
	assert.match(forwards, /DVR remote/);
	assert.match(forwards, /every port/);
	assert.match(forwards, /nvr-garage \(NVR\/DVR, Dahua\)/);
	assert.match(forwards, /not on the allowlist/);
	assert.match(forwards, /old ssh \(disabled\)/);

	/* a disable button only for enabled forwards against the policy */
	assert.equal(sections[1].querySelectorAll('button').length, 1);
	/* it polls */
	assert.equal(luci.shim.poll.queue.length, 1);
});

test('exposure: revoke sends {proto, ext_port} after confirmation and offers undo', async () => {
	const luci = await h.renderView('exposure');

	await h.click(luci, h.button(luci, 'Revoke'));
	assert.match(text(h.modal(luci)), /554\/TCP/);
	assert.deepEqual(callsTo(luci, 'camguard', 'revoke'), []);

	await h.click(luci, h.button(luci, 'Revoke', h.modal(luci)));
	assert.deepEqual(callsTo(luci, 'camguard', 'revoke'), [ { proto: 'TCP', ext_port: 554 } ]);
	assert.equal(typeof callsTo(luci, 'camguard', 'revoke')[0].ext_port, 'number');
	assert.match(text(h.modal(luci)), /Journal entry: 20261125T130500Z-1/);

	await h.click(luci, h.button(luci, 'Undo', h.modal(luci)));
	assert.deepEqual(callsTo(luci, 'camguard', 'revert'), [ { id: '20261125T130500Z-1' } ]);
});

test('exposure: disable previews with a dry run on the forward\'s finding subject, then enforces it', async () => {
	const luci = await h.renderView('exposure');
	const subject = h.fixtures().status.findings.find(f => f.id == 'forward.not_allowed').subject;

	await h.click(luci, h.button(luci, 'Disable'));
	assert.deepEqual(callsTo(luci, 'camguard', 'enforce'), [ { dry_run: true, subject } ]);
	assert.match(text(h.modal(luci)), /disable port forward "DVR remote"/);

	await h.click(luci, h.button(luci, 'Disable', h.modal(luci)));
	assert.deepEqual(callsTo(luci, 'camguard', 'enforce')[1], { dry_run: false, subject });
});

test('devices: class, confidence, reasons, and the owner\'s overrides from /etc/config/camguard', async () => {
	const luci = await h.renderView('devices');
	const rows = Array.from(luci.document.querySelectorAll('#cg-devices tr[data-mac]'));
	const row = mac => rows.find(r => r.getAttribute('data-mac') == mac);

	const reolink = row('ec:71:db:3a:5e:10');
	assert.match(text(reolink), /Camera high confidence Reolink/);
	assert.match(text(reolink), /OUI EC:71:DB is registered to Reolink/);

	assert.equal(row('4c:bd:8f:22:10:aa').querySelector('[data-option=internet]').checked, true);
	/* a device section for a MAC not seen now stays editable */
	const absent = row('00:11:22:33:44:55');
	assert.match(text(absent), /not seen now/);
	assert.equal(absent.querySelector('[data-option=upnp]').checked, true);
	assert.equal(absent.querySelector('[data-option=class]').value, 'camera');

	/* a device without a MAC cannot get a section */
	const noMac = Array.from(luci.document.querySelectorAll('#cg-devices tr')).find(r => text(r).includes('no MAC address known'));
	assert.ok(noMac.querySelector('[data-option=internet]').disabled);
});

test('devices: toggles become config device sections on Save, and empty ones go away', async () => {
	const luci = await h.renderView('devices');
	const row = mac => luci.document.querySelector('#cg-devices tr[data-mac="' + mac + '"]');

	row('ec:71:db:3a:5e:10').querySelector('[data-option=internet]').checked = true;
	row('ec:71:db:3a:5e:10').querySelector('[data-option=upnp]').checked = true;
	row('4c:bd:8f:22:10:aa').querySelector('[data-option=internet]').checked = false;
	row('00:11:22:33:44:55').querySelector('[data-option=class]').value = 'other';

	assert.deepEqual(callsTo(luci, 'uci', 'add'), [], 'nothing is staged before Save');
	await h.click(luci, h.button(luci, 'Save'));

	assert.deepEqual(callsTo(luci, 'uci', 'add'), [
		{ config: 'camguard', type: 'device', values: { mac: 'ec:71:db:3a:5e:10', internet: 'block', upnp: 'deny' } }
	]);
	assert.deepEqual(callsTo(luci, 'uci', 'delete'), [ { config: 'camguard', section: 'cfg03c0a1' } ]);
	assert.deepEqual(callsTo(luci, 'uci', 'set'), [ { config: 'camguard', section: 'cfg04c0a1', values: { 'class': 'other' } } ]);

	/* Save & Apply goes through LuCI's apply */
	await h.click(luci, h.button(luci, 'Save & Apply'));
	assert.deepEqual(Array.from(luci.shim.ui.changes.applied), [ true ]);
});

test('settings: a form.Map over /etc/config/camguard with every policy option and the allowlist', async () => {
	const luci = await h.renderView('settings');
	const page = text(luci.document.getElementById('view'));

	for (const opt of [ 'enforce', 'upnp', 'forwards', 'camera_internet', 'audit_interval', 'credential_check' ])
		assert.ok(luci.document.getElementById('cbid.camguard.main.' + opt), opt);

	assert.deepEqual(Array.from(luci.document.getElementById('cbid.camguard.main.upnp').options).map(o => o.value),
		[ 'off', 'restricted', 'allow' ]);
	assert.deepEqual(Array.from(luci.document.getElementById('cbid.camguard.main.forwards').options).map(o => o.value),
		[ 'off', 'allowlist', 'no_cameras', 'allow' ]);
	assert.match(page, /at most 2 attempts per device per day/);

	/* the allowlist: Plex in the table, existing redirects offered by name */
	assert.match(text(luci.document.querySelector('.cbi-tblsection table')), /Plex/);
	const offered = Array.from(luci.document.querySelectorAll('#cbid\\.camguard\\.cfg02c0a1\\.redirect li')).map(li => li.getAttribute('data-value'));
	assert.deepEqual(offered, [ 'DVR remote', 'Plex', 'old ssh' ]);

	luci.document.getElementById('cbid.camguard.main.upnp').value = 'restricted';
	await h.click(luci, h.button(luci, 'Save'));
	assert.deepEqual(callsTo(luci, 'uci', 'set'), [ { config: 'camguard', section: 'main', values: { upnp: 'restricted' } } ]);
});
