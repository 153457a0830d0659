'use strict';
/*
 * Every view, and every dialog its buttons open, rendered with hostile strings in every
 * LAN-derived field: nothing may become an element or an attribute, and the strings must
 * show literally.
 */
const { test } = require('node:test');
const h = require('./harness');
const { PAYLOADS, hostileData, assertShownAsText, assertNoMarkup } = require('./hostile');

/* Enforce/revoke/revert replies that quote LAN strings too. */
function hostileReplies(payload) {
	const action = { kind: 'uci_set', config: 'firewall', section: 'cfg093837', option: 'enabled', value: '0', why: payload };

	return {
		'camguard.enforce': (args) => ({
			journal_id: args.dry_run ? null : '20261125T130000Z-1', actions: [ action ],
			applied: args.dry_run ? 0 : 1,
			failed: [ { action: action, error: payload } ],
			verified: [ { check: payload, ok: false, detail: payload } ],
			pending: []
		}),
		'camguard.revoke': () => ({
			journal_id: '20261125T130500Z-1', actions: [ action ], applied: 1,
			failed: [ { action: action, error: payload } ], verified: [], pending: []
		}),
		'camguard.revert': (args) => ({ journal_id: args.id, reverted: 1, failed: [ { action: action, error: payload } ] })
	};
}

for (const [ label, payload ] of Object.entries(PAYLOADS)) {
	const options = () => ({ data: hostileData(h.fixtures(), payload), replies: hostileReplies(payload) });

	test('overview shows ' + label + ' as text, in the page and its dialogs', async () => {
		const luci = await h.renderView('overview', options());
		assertShownAsText(luci, payload, 'overview');

		/* a finding's fix: confirm dialog, result with journal id, undo result */
		await h.click(luci, h.button(luci, 'Fix this…'));
		assertShownAsText(luci, payload, 'fix confirm');
		await h.click(luci, h.button(luci, 'Fix it', h.modal(luci)));
		assertShownAsText(luci, payload, 'fix result');
		await h.click(luci, h.button(luci, 'Undo', h.modal(luci)));
		assertNoMarkup(luci.document, 'fix undone');

		/* the recommended policy: the dialog names forwards and camera mappings */
		await h.click(luci, h.button(luci, 'Apply the recommended policy…'));
		assertShownAsText(luci, payload, 'recommended confirm');
		await h.click(luci, h.button(luci, 'Apply the recommended policy', h.modal(luci)));
		assertShownAsText(luci, payload, 'recommended result');
	});

	test('exposure shows ' + label + ' as text, in the page and its dialogs', async () => {
		const luci = await h.renderView('exposure', options());
		assertShownAsText(luci, payload, 'exposure');

		await h.click(luci, h.button(luci, 'Revoke'));
		assertShownAsText(luci, payload, 'revoke confirm');
		await h.click(luci, h.button(luci, 'Revoke', h.modal(luci)));
		assertShownAsText(luci, payload, 'revoke result');

		await h.click(luci, h.button(luci, 'Disable'));
		assertShownAsText(luci, payload, 'disable confirm');
		await h.click(luci, h.button(luci, 'Disable', h.modal(luci)));
		assertShownAsText(luci, payload, 'disable result');

		/* a poll refresh renders the same data again */
		await luci.shim.poll.step();
		assertShownAsText(luci, payload, 'exposure after poll');
	});

	test('devices shows ' + label + ' as text', async () => {
		const luci = await h.renderView('devices', options());
		assertShownAsText(luci, payload, 'devices');
		await h.click(luci, h.button(luci, 'Save'));
		assertShownAsText(luci, payload, 'devices after save');
	});

	test('settings shows ' + label + ' (redirect names) as text', async () => {
		const luci = await h.renderView('settings', options());
		assertShownAsText(luci, payload, 'settings');
	});
}
