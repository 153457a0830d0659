'use strict';
/* What the views show, and which ubus methods their buttons call with which arguments. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const { callsTo, text } = h;

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

test('overview: a fix is confirmed, applied with enforce {finding, subject}, and undone with the same count', async () => {
	const luci = await h.renderView('overview');
	const data = h.fixtures();
	const finding = data.status.findings.find(f => f.id == 'forward.not_allowed');

	const card = Array.from(luci.document.querySelectorAll('.cg-finding')).find(c => text(c).includes(finding.title));
	await h.click(luci, h.button(luci, 'Fix this…', card));

	assert.match(text(h.modal(luci)), /disable port forward "DVR remote"/);
	assert.deepEqual(callsTo(luci, 'camguard', 'enforce'), [], 'nothing runs before the owner confirms');

	await h.click(luci, h.button(luci, 'Fix it', h.modal(luci)));
	assert.deepEqual(callsTo(luci, 'camguard', 'enforce'), [
		{ dry_run: false, finding: 'forward.not_allowed', subject: finding.subject }
	]);
	assert.match(text(h.modal(luci)), /Camguard made 1 change on your router: disable port forward "DVR remote"/);
	assert.match(text(h.modal(luci)), /Journal entry: 20261125T130000Z-1/);

	/* the daemon answers revert with a count of its own steps (3); the page counts changes */
	await h.click(luci, h.button(luci, 'Undo', h.modal(luci)));
	assert.deepEqual(callsTo(luci, 'camguard', 'revert'), [ { id: '20261125T130000Z-1' } ]);
	assert.match(text(h.modal(luci)), /Undid 1 change\./);
});

test('overview: a refused enforce becomes a notification that says why, not an RPC error', async () => {
	const luci = await h.renderView('overview', { replies: { 'camguard.enforce': 6 } });

	await h.click(luci, h.button(luci, 'Fix this…'));
	await h.click(luci, h.button(luci, 'Fix it', h.modal(luci)));

	assert.deepEqual(h.notifications(luci).map(n => /You are logged in without permission to change camguard/.test(n)), [ true ]);
	assert.ok(!luci.document.body.classList.contains('modal-overlay-active'), 'the dialog is closed');
	assert.doesNotMatch(luci.document.body.textContent, /RPC call|ubus code|-32002/);
});

test('overview: undo of a journal entry sends revert {id} and counts the entry\'s changes', async () => {
	const luci = await h.renderView('overview');
	const table = luci.document.querySelector('.cg-journal');

	/* the reverted entry has no button */
	assert.equal(table.querySelectorAll('button').length, 1);

	await h.click(luci, h.button(luci, 'Undo', table));
	assert.match(text(h.modal(luci)), /Put back the 1 change of journal entry 20261125T120000Z-1\?/);
	await h.click(luci, h.button(luci, 'Undo', h.modal(luci)));

	assert.deepEqual(callsTo(luci, 'camguard', 'revert'), [ { id: '20261125T120000Z-1' } ]);
	assert.match(text(h.modal(luci)), /Undid 1 change\./);
});

test('overview: what a revert put back by meaning rather than byte for byte is shown, as text', async () => {
	const note = '/etc/config/firewall: it was changed since camguard\'s change; camguard\'s changes were undone by meaning and every other change kept (not byte-identical) <b>x</b>';
	const luci = await h.renderView('overview', { replies: {
		'camguard.revert': (args) => ({ journal_id: args.id, reverted: 3, failed: [], notes: [ note ] })
	} });

	await h.click(luci, h.button(luci, 'Undo', luci.document.querySelector('.cg-journal')));
	await h.click(luci, h.button(luci, 'Undo', h.modal(luci)));

	const notes = h.modal(luci).querySelector('.cg-revert-notes');
	assert.ok(notes, 'the notes are shown');
	assert.match(text(notes), /Not everything came back byte for byte/);
	assert.equal(notes.querySelector('li').textContent, note);
	assert.equal(notes.querySelector('b'), null, 'as text, not markup');
});

test('overview: an undo whose reload failed counts what the daemon put back and lists the failure', async () => {
	const reload = 'reload after restoring /etc/config/upnpd: ubus status 4 (not found)';
	const undo = async (reply) => {
		const luci = await h.renderView('overview', { replies: {
			'camguard.revert': (args) => Object.assign({ journal_id: args.id, notes: [] }, reply)
		} });

		await h.click(luci, h.button(luci, 'Undo', luci.document.querySelector('.cg-journal')));
		await h.click(luci, h.button(luci, 'Undo', h.modal(luci)));

		return text(h.modal(luci));
	};

	const partly = await undo({ reverted: 6, failed: [ reload ] });
	assert.match(partly, /Undid 1 change\./);
	assert.match(partly, /These could not be undone:/);
	assert.ok(partly.includes(reload), partly);

	/* nothing put back: nothing is counted */
	assert.match(await undo({ reverted: 0, failed: [ 'commit firewall: ubus status 6 (permission denied)' ] }), /Undid 0 changes\./);
});

test('overview: a journal row shows what failed, and what a revert put back by meaning, as text', async () => {
	const data = h.fixtures();
	const [ applied, revoked ] = data.journal.entries;

	applied.state = 'partial';
	applied.applied = [];
	applied.failed = [ { action: 0, error: 'commit firewall: ubus status 6 <i>denied</i>' } ];
	revoked.state = 'reverted';
	revoked.notes = [ '/var/run/miniupnpd.leases: it was changed since camguard\'s change <b>x</b>' ];

	const luci = await h.renderView('overview', { data });
	const rows = luci.document.querySelectorAll('.cg-journal tr[data-entry]');

	assert.match(text(rows[0].querySelector('summary')), /enforce: 0 changes, 1 failed/);
	const failed = rows[0].querySelector('.cg-journal-failed');
	assert.ok(failed, 'the failure is listed');
	assert.equal(failed.querySelector('li').textContent,
		'disable port forward "DVR remote" (forwards \'allowlist\'): commit firewall: ubus status 6 <i>denied</i>');
	assert.equal(failed.querySelector('i'), null, 'as text, not markup');

	const notes = rows[1].querySelector('.cg-revert-notes');
	assert.ok(notes, 'the revert\'s notes stay after its dialog');
	assert.equal(notes.querySelector('li').textContent, revoked.notes[0]);
	assert.equal(notes.querySelector('b'), null, 'as text, not markup');
	assert.match(text(rows[1]), /undone, not byte for byte/);
});

test('overview: the recommended policy is explained, written with uci, applied, then enforced', async () => {
	const data = h.fixtures();

	/* a forward that is not on the allowlist and goes to a NAS: the owner may keep it */
	data.forwards.forwards.push({
		section: 'cfg0c3837', name: 'Nextcloud', enabled: true, protocols: [ 'tcp' ],
		src_dport: { lo: 443, hi: 443 }, dest_ip: '192.168.1.10', dest_port: null, every_port: false,
		device: null, allowed: false, why: 'not on the allowlist (forwards \'allowlist\')'
	});
	/* UPnP is off already: the recommendation keeps the stricter choice */
	const luci = await h.renderView('overview', { data });

	await h.click(luci, h.button(luci, 'Apply the recommended policy…'));
	const dialog = text(h.modal(luci));

	assert.match(dialog, /UPnP stays off/);
	assert.match(dialog, /DVR remote/);                    /* will be disabled */
	assert.match(dialog, /reolink-front/);                 /* camera mapping to be removed */
	assert.doesNotMatch(dialog, /Plex/);                   /* on the allowlist already */
	assert.equal(h.modal(luci).querySelectorAll('input[type=checkbox]').length, 1, 'only Nextcloud can be kept');
	assert.deepEqual(callsTo(luci, 'uci', 'set'), [], 'nothing is written before the owner confirms');

	const keep = h.modal(luci).querySelector('input[type=checkbox]');
	keep.checked = true;
	keep.dispatchEvent(new luci.window.Event('change'));

	await h.click(luci, h.button(luci, 'Apply the recommended policy', h.modal(luci)));

	assert.deepEqual(callsTo(luci, 'uci', 'set'), [ { config: 'camguard', section: 'main', values: { enforce: '1' } } ]);
	assert.equal(luci.uciStore.camguard.main.upnp, 'off');
	assert.ok(Object.values(luci.uciStore.camguard).some(s => s['.type'] == 'allow_forward' && s.redirect == 'Nextcloud'));
	assert.equal(callsTo(luci, 'uci', 'apply').length, 1);
	assert.equal(callsTo(luci, 'uci', 'confirm').length, 1);

	const methods = luci.calls.map(c => c.object + '.' + c.method);
	assert.ok(methods.lastIndexOf('camguard.enforce') > methods.indexOf('uci.confirm'), 'enforce runs after the policy is applied');
	assert.deepEqual(callsTo(luci, 'camguard', 'enforce'), [ { dry_run: false } ]);
	assert.match(text(h.modal(luci)), /Camguard made 1 change on your router/);

	/* undo puts the previous policy back, then reverts the group */
	await h.click(luci, h.button(luci, 'Undo', h.modal(luci)));
	assert.equal(luci.uciStore.camguard.main.enforce, '0');
	assert.ok(!Object.values(luci.uciStore.camguard).some(s => s.redirect == 'Nextcloud'));
	assert.deepEqual(callsTo(luci, 'camguard', 'revert'), [ { id: '20261125T130000Z-1' } ]);
	assert.match(text(h.modal(luci)), /Undid 1 change\./);
});

test('overview: what the daemon applies by itself after enforce \'1\' is saved is reported and undone as one group', async () => {
	const revokeCam = port => ({ kind: 'revoke_mapping', proto: 'TCP', ext_port: port, int_addr: '192.168.1.64', int_port: port, why: 'revoke the UPnP mapping ' + port + '/TCP to camera "reolink-front"' });
	const denyRule = mac => ({ kind: 'uci_add', config: 'upnpd', type: 'perm_rule', values: { action: 'deny' }, why: 'deny UPnP to ' + mac });
	const luci = await h.renderView('overview', {
		enforceOnApply: [
			[ { kind: 'uci_set', config: 'firewall', section: 'cfg093837', option: 'enabled', value: '0', why: 'disable port forward "DVR remote"' } ],
			[ denyRule('ec:71:db:3a:5e:10'), denyRule('4c:bd:8f:22:10:aa'), denyRule('3c:ef:8c:12:ab:cd') ],
			[ revokeCam(554), revokeCam(9000) ]
		]
	});

	await h.click(luci, h.button(luci, 'Apply the recommended policy…'));
	await h.click(luci, h.button(luci, 'Apply the recommended policy', h.modal(luci)));

	/* the page's own enforce found nothing left: the daemon had done it all */
	const result = text(h.modal(luci));
	assert.doesNotMatch(result, /Nothing had to be changed/);
	assert.match(result, /Camguard made 6 changes on your router/);
	for (const why of [ 'disable port forward "DVR remote"', 'deny UPnP to 4c:bd:8f:22:10:aa', 'revoke the UPnP mapping 9000/TCP' ])
		assert.ok(result.includes(why), why);
	assert.match(result, /applied 6 of these by itself/);
	assert.match(result, /Journal entries: 20261125T130200Z-1, 20261125T130100Z-1, 20261125T130000Z-1/);

	await h.click(luci, h.button(luci, 'Undo all 6 changes', h.modal(luci)));

	/* the policy first (so enforcement does not redo it), then every entry, newest first */
	assert.equal(luci.uciStore.camguard.main.enforce, '0');
	assert.deepEqual(callsTo(luci, 'camguard', 'revert'), [
		{ id: '20261125T130200Z-1' }, { id: '20261125T130100Z-1' }, { id: '20261125T130000Z-1' }
	]);
	assert.match(text(h.modal(luci)), /Undid 6 changes\./);
});

test('overview: the recommended policy refuses to apply other unsaved LuCI changes with it', async () => {
	const luci = await h.renderView('overview', {
		replies: { 'uci.changes': { changes: { network: [ [ 'set', 'lan', 'ipaddr', '10.0.0.1' ] ] } } }
	});

	await h.click(luci, h.button(luci, 'Apply the recommended policy…'));

	assert.ok(h.notifications(luci).some(n => /unsaved changes in: network/.test(n)));
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
	const [ picture, ...sections ] = luci.document.querySelectorAll('#view .cbi-section');

	assert.match(text(picture), /What the internet can reach/);
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

	/* a disabled forward is shown as disabled, not as an allowed one */
	const oldSsh = luci.document.getElementById('cg-row-forward-cfg0a3837');
	assert.match(text(oldSsh), /Disabled: nothing is forwarded/);
	assert.doesNotMatch(text(oldSsh), /Allowed/);
	assert.ok(!oldSsh.classList.contains('cg-violates'));

	/* a disable button only for enabled forwards against the policy; allowed ones link to the firewall */
	assert.equal(sections[1].querySelectorAll('button').length, 1);
	assert.equal(luci.document.querySelector('#cg-row-forward-cfg083837 a').getAttribute('href'), '/cgi-bin/luci/admin/network/firewall/forwards');
	/* it polls */
	assert.equal(luci.shim.poll.queue.length, 1);
});

test('exposure: a lease line without its firewall rules is shown as not active, and still as a way in', async () => {
	const data = h.fixtures();
	const dormant = data.mappings.mappings[0];

	dormant.live = false;
	data.mappings.mappings.slice(1).forEach(m => { m.live = true; });

	const luci = await h.renderView('exposure', { data });
	const row = luci.document.getElementById('cg-row-mapping-' + dormant.proto + '-' + dormant.ext_port);

	assert.match(text(row.querySelector('.cg-dormant')), /Not in the firewall now: miniupnpd makes it again when it restarts\./);
	assert.equal(luci.document.querySelectorAll('.cg-dormant').length, 1, 'only the line without rules');
	const picture = text(luci.document.querySelector('#view .cbi-section'));
	assert.match(picture, new RegExp(dormant.ext_port + '/' + dormant.proto + ' UPnP mapping, not active now'));
	/* still revocable: miniupnpd would bring it back */
	assert.ok(h.button(luci, 'Revoke', row));
});

test('exposure: revoke sends {proto, ext_port} after confirmation and offers undo', async () => {
	const luci = await h.renderView('exposure');

	await h.click(luci, h.button(luci, 'Revoke'));
	assert.match(text(h.modal(luci)), /554\/TCP/);
	assert.deepEqual(callsTo(luci, 'camguard', 'revoke'), []);

	await h.click(luci, h.button(luci, 'Revoke', h.modal(luci)));
	assert.deepEqual(callsTo(luci, 'camguard', 'revoke'), [ { proto: 'TCP', ext_port: 554 } ]);
	assert.equal(typeof callsTo(luci, 'camguard', 'revoke')[0].ext_port, 'number');
	assert.match(text(h.modal(luci)), /Journal entry: 20261125T130000Z-1/);

	await h.click(luci, h.button(luci, 'Undo', h.modal(luci)));
	assert.deepEqual(callsTo(luci, 'camguard', 'revert'), [ { id: '20261125T130000Z-1' } ]);
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

/* The Devices grid: one row per device, found by the MAC it shows. */
function deviceRows(luci) {
	return Array.from(luci.document.querySelectorAll('#cg-devices tr[data-sid]'));
}

function deviceRow(luci, mac) {
	return deviceRows(luci).find(r => text(r).includes(mac));
}

function widget(row, option) {
	return row.querySelector('[data-name="' + option + '"] input, [data-name="' + option + '"] select');
}

test('devices: a form grid of what camguard sees, and the owner\'s overrides from /etc/config/camguard', async () => {
	const luci = await h.renderView('devices');

	/* a form.GridSection over a JSONMap: the page's Save goes through LuCI's form */
	assert.ok(luci.document.querySelector('#cg-devices .cbi-map .cbi-tblsection'));

	const reolink = deviceRow(luci, 'ec:71:db:3a:5e:10');
	assert.match(text(reolink), /Camera high confidence Reolink/);
	assert.match(text(reolink), /OUI EC:71:DB is registered to Reolink/);

	assert.equal(widget(deviceRow(luci, '4c:bd:8f:22:10:aa'), 'internet').checked, true);
	/* a device section for a MAC not seen now stays editable */
	const absent = deviceRow(luci, '00:11:22:33:44:55');
	assert.match(text(absent), /not seen now/);
	assert.equal(widget(absent, 'upnp').checked, true);
	assert.equal(widget(absent, 'class').value, 'camera');

	/* a device without a MAC cannot get a section */
	const noMac = deviceRow(luci, 'no MAC address known');
	assert.ok(widget(noMac, 'internet').disabled);
	assert.ok(widget(noMac, 'class').disabled);
	assert.ok(!widget(reolink, 'internet').disabled);
});

test('devices: toggles become config device sections on Save, and empty ones go away', async () => {
	const luci = await h.renderView('devices');

	widget(deviceRow(luci, 'ec:71:db:3a:5e:10'), 'internet').checked = true;
	widget(deviceRow(luci, 'ec:71:db:3a:5e:10'), 'upnp').checked = true;
	widget(deviceRow(luci, '4c:bd:8f:22:10:aa'), 'internet').checked = false;
	widget(deviceRow(luci, '00:11:22:33:44:55'), 'class').value = 'other';

	assert.deepEqual(callsTo(luci, 'uci', 'add'), [], 'nothing is staged before Save');
	await h.click(luci, h.button(luci, 'Save'));

	assert.deepEqual(callsTo(luci, 'uci', 'add'), [
		{ config: 'camguard', type: 'device', values: { mac: 'ec:71:db:3a:5e:10', internet: 'block', upnp: 'deny' } }
	]);
	assert.deepEqual(callsTo(luci, 'uci', 'delete'), [ { config: 'camguard', section: 'cfg03c0a1' } ]);
	assert.deepEqual(callsTo(luci, 'uci', 'set'), [ { config: 'camguard', section: 'cfg04c0a1', values: { 'class': 'other' } } ]);

	/* the grid shows what was saved */
	assert.equal(widget(deviceRow(luci, 'ec:71:db:3a:5e:10'), 'upnp').checked, true);

	/* Save & Apply goes through LuCI's apply */
	await h.click(luci, h.button(luci, 'Save & Apply'));
	assert.deepEqual(Array.from(luci.shim.ui.changes.applied), [ true ]);
});

test('settings: a form.Map over /etc/config/camguard with every policy option and the allowlist', async () => {
	const luci = await h.renderView('settings');
	const page = text(luci.document.getElementById('view'));

	for (const opt of [ 'enforce', 'upnp', 'forwards', 'camera_internet', 'audit_interval', 'listen', 'probe', 'credential_check' ])
		assert.ok(luci.document.getElementById('cbid.camguard.main.' + opt), opt);

	assert.deepEqual(Array.from(luci.document.getElementById('cbid.camguard.main.upnp').options).map(o => o.value),
		[ 'off', 'restricted', 'allow' ]);
	assert.deepEqual(Array.from(luci.document.getElementById('cbid.camguard.main.forwards').options).map(o => o.value),
		[ 'off', 'allowlist', 'no_cameras', 'allow' ]);
	assert.match(page, /at most 2 attempts per device per day/);

	/* the allowlist: Plex in the table, existing redirects offered by name */
	const offered = Array.from(luci.document.querySelectorAll('#cbid\\.camguard\\.cfg02c0a1\\.redirect li')).map(li => li.getAttribute('data-value'));
	assert.deepEqual(offered, [ 'DVR remote', 'Plex', 'old ssh' ]);
	assert.equal(luci.document.querySelector('#cbid\\.camguard\\.cfg02c0a1\\.redirect input').value, 'Plex');

	luci.document.getElementById('cbid.camguard.main.upnp').value = 'restricted';
	await h.click(luci, h.button(luci, 'Save'));
	/* LuCI sets flags on every save; rpcd skips values that did not change */
	assert.deepEqual(callsTo(luci, 'uci', 'set'), [
		{ config: 'camguard', section: 'main', values: { enforce: '0', upnp: 'restricted', listen: '1', probe: '0', credential_check: '0' } }
	]);
});

/* An unnamed forward in an anonymous section: its cfg… ID shifts when an earlier section is deleted. */
const UNNAMED = {
	section: 'cfg0d3837', name: null, enabled: true, protocols: [ 'tcp' ],
	src_dport: { lo: 8443, hi: 8443 }, dest_ip: '192.168.1.20', dest_port: { lo: 443, hi: 443 }, every_port: false,
	device: null, allowed: false, why: 'not on the allowlist (forwards \'allowlist\')'
};

test('settings: an unnamed forward goes on the allowlist by what it does, never by its section ID', async () => {
	const data = h.fixtures();
	data.forwards.forwards.push(UNNAMED);
	const luci = await h.renderView('settings', { data });

	const offered = Array.from(luci.document.querySelectorAll('#cbid\\.camguard\\.cfg02c0a1\\.redirect li')).map(li => li.getAttribute('data-value'));
	assert.deepEqual(offered, [ 'DVR remote', 'Plex', 'old ssh', 'tcp port 8443 → 192.168.1.20:443' ]);

	luci.document.querySelector('#cbid\\.camguard\\.cfg02c0a1\\.redirect input').value = 'tcp port 8443 → 192.168.1.20:443';
	await h.click(luci, h.button(luci, 'Save'));

	const row = luci.uciStore.camguard.cfg02c0a1;
	assert.equal(row.redirect, undefined, 'the name it had is removed');
	assert.deepEqual([ row.proto, row.src_dport, row.dest_ip, row.dest_port ], [ 'tcp', '8443', '192.168.1.20', '443' ]);
});

test('settings: an allowlist entry by content shows as the forward it keeps', async () => {
	const data = h.fixtures();
	data.forwards.forwards.push(UNNAMED);
	const entry = data.uci_camguard.values.cfg02c0a1;
	delete entry.redirect;
	Object.assign(entry, { proto: 'tcp', src_dport: '8443', dest_ip: '192.168.1.20', dest_port: '443' });
	const luci = await h.renderView('settings', { data });

	assert.equal(luci.document.querySelector('#cbid\\.camguard\\.cfg02c0a1\\.redirect input').value, 'tcp port 8443 → 192.168.1.20:443');
	await h.click(luci, h.button(luci, 'Save'));
	assert.deepEqual(callsTo(luci, 'uci', 'set').filter(c => c.section == 'cfg02c0a1'), [], 'unchanged, nothing written');
});

test('overview: keeping an unnamed forward writes what it does, and it then counts as kept', async () => {
	const data = h.fixtures();
	data.forwards.forwards.push(UNNAMED);
	const luci = await h.renderView('overview', { data });

	await h.click(luci, h.button(luci, 'Apply the recommended policy…'));
	const keep = h.modal(luci).querySelector('input[type=checkbox]');
	keep.checked = true;
	keep.dispatchEvent(new luci.window.Event('change'));
	await h.click(luci, h.button(luci, 'Apply the recommended policy', h.modal(luci)));

	const added = Object.values(luci.uciStore.camguard).filter(s => s['.type'] == 'allow_forward' && s.redirect != 'Plex');
	assert.equal(added.length, 1);
	assert.equal(added[0].redirect, undefined, 'never the cfg… ID');
	assert.deepEqual([ added[0].proto, added[0].src_dport, added[0].dest_ip, added[0].dest_port ], [ 'tcp', '8443', '192.168.1.20', '443' ]);
});

test('settings: options equal to their default are written, not deleted', async () => {
	const data = h.fixtures();

	/* a config written by an older form: forwards and camera_internet missing */
	delete data.uci_camguard.values.main.forwards;
	delete data.uci_camguard.values.main.camera_internet;
	data.uci_camguard.values.main.upnp = 'restricted';

	const luci = await h.renderView('settings', { data });

	luci.document.getElementById('cbid.camguard.main.upnp').value = 'off';
	await h.click(luci, h.button(luci, 'Save'));

	assert.deepEqual(callsTo(luci, 'uci', 'delete'), [], 'nothing is deleted');
	assert.deepEqual(luci.uciStore.camguard.main.upnp, 'off');
	assert.deepEqual(luci.uciStore.camguard.main.forwards, 'allowlist');
	assert.deepEqual(luci.uciStore.camguard.main.camera_internet, 'allow');
});

test('settings: adding an allowlist row keeps an unsaved policy change', async () => {
	const luci = await h.renderView('settings');

	luci.document.getElementById('cbid.camguard.main.upnp').value = 'restricted';
	await h.click(luci, h.button(luci, 'Add'));

	assert.equal(luci.document.getElementById('cbid.camguard.main.upnp').value, 'restricted');
	assert.equal(luci.document.querySelectorAll('.cbi-tblsection tr[data-sid]').length, 2, 'a new row');
	assert.deepEqual(luci.uciStore.camguard.main.upnp, 'restricted', 'staged with the new row');
});

test('devices: model and firmware from a discovery reply are shown, as text', async () => {
	const luci = await h.renderView('devices');
	const nvr = deviceRow(luci, '3c:ef:8c:12:ab:cd');
	assert.match(text(nvr), /NVR5216/);
	assert.match(text(nvr), /Firmware 4\.001\.0000000\.1, Build Date 2020-11-05/);
	/* a model string is LAN text: it shows literally, never as markup */
	assert.match(text(nvr), /<img src=x onerror=alert\(1\)>/);
	assert.equal(nvr.querySelector('img'), null);
	/* an SSDP description names the maker, shown since the OUI named none */
	const nas = deviceRow(luci, '00:11:32:8a:77:01');
	assert.match(text(nas), /Synology\\x1b\[2J/);
	assert.match(text(nas), /DS920\+/);
	assert.doesNotMatch(text(nas), /Firmware/);
});
