'use strict';
/* Hostile strings, where they go in the replies, and the check that none became markup. */
const assert = require('node:assert/strict');

const TEN_KB = ('<svg onload=alert(1)>' + 'x'.repeat(80) + '</svg>').repeat(120).slice(0, 10240);

const PAYLOADS = {
	'img onerror': '<img src=x onerror=alert(1)>',
	'script breakout': '"><script>alert(1)</script>',
	'RTL override': '\u202egpj.exe<b>bold</b>',
	'10 kB markup': TEN_KB
};

/*
 * Every string a LAN device (or a person) chose, or that quotes one: hostnames, UPnP
 * descriptions, vendor names, reasons, redirect names, finding titles/details/remedies,
 * the `why` of actions, problem messages. Ids, section names, MACs, IPs, enums stay.
 */
const TEXT_KEYS = new Set([
	'hostname', 'hostnames', 'vendor', 'reasons', 'description', 'name', 'label', 'title',
	'detail', 'remedy', 'why', 'message', 'reason', 'redirect', 'error', 'check', 'model',
	'release', 'source', 'seen_in', 'comment', 'service'
]);

function poisonValue(value, payload) {
	if (typeof value == 'string')
		return payload;

	if (Array.isArray(value))
		return value.map(v => (typeof v == 'string') ? payload : poison(v, payload));

	return poison(value, payload);
}

function poison(value, payload) {
	if (Array.isArray(value))
		return value.map(v => poison(v, payload));

	if (value == null || typeof value != 'object')
		return value;

	const out = {};

	for (const k of Object.keys(value)) {
		if (TEXT_KEYS.has(k) && value[k] != null)
			out[k] = poisonValue(value[k], payload);
		else
			out[k] = poison(value[k], payload);
	}

	return out;
}

/* The fixtures with every LAN string replaced by `payload`. */
function hostileData(data, payload) {
	const out = poison(data, payload);

	/* `seen_in` of a mapping is an enum ("nft" / "lease file"); keep it */
	out.mappings.mappings.forEach((m, i) => { m.seen_in = data.mappings.mappings[i].seen_in; });

	return out;
}

/* Elements and attributes the views and the shim create; anything else came from a string. */
const ELEMENTS = new Set([
	'HTML', 'HEAD', 'BODY', 'DIV', 'SPAN', 'P', 'H2', 'H3', 'H4', 'STRONG', 'EM', 'SMALL', 'BR',
	'CODE', 'BDI', 'UL', 'LI', 'TABLE', 'TBODY', 'TR', 'TH', 'TD', 'BUTTON', 'INPUT', 'SELECT',
	'OPTION', 'LABEL', 'DETAILS', 'SUMMARY', 'A',
	/* the exposure picture (SVG elements keep their lower-case names) */
	'svg', 'g', 'path', 'rect', 'circle', 'line', 'text', 'title'
]);

const ATTRIBUTES = new Set([
	'id', 'class', 'style', 'type', 'value', 'checked', 'selected', 'disabled', 'name', 'for',
	'role', 'aria-modal', 'placeholder', 'title', 'href', 'tabindex', 'aria-label',
	'viewBox', 'width', 'height', 'x', 'y', 'x1', 'y1', 'x2', 'y2', 'cx', 'cy', 'r', 'rx', 'd',
	'fill', 'stroke', 'stroke-width', 'stroke-dasharray', 'font-size', 'font-weight', 'text-anchor'
]);

function assertNoMarkup(document, where) {
	for (const el of document.querySelectorAll('*')) {
		assert.ok(ELEMENTS.has(el.tagName), where + ': a <' + el.tagName.toLowerCase() + '> element was created');

		for (const attr of Array.from(el.attributes)) {
			assert.ok(!/^on/i.test(attr.name), where + ': event handler attribute ' + attr.name);
			assert.ok(ATTRIBUTES.has(attr.name) || attr.name.startsWith('data-'),
				where + ': unexpected attribute ' + attr.name + ' on <' + el.tagName.toLowerCase() + '>');
			/* links go to LuCI pages only */
			if (attr.name == 'href')
				assert.match(attr.value, /^\/cgi-bin\/luci\//, where + ': a link out of LuCI: ' + attr.value);
		}
	}
}

/* The whole page, modal included: no markup from payloads, and the payload shown as text. */
function assertShownAsText(luci, payload, where) {
	assertNoMarkup(luci.document, where);
	assert.ok(luci.document.body.textContent.includes(payload), where + ': the hostile string is not shown literally');
	assert.deepEqual(luci.window.__alerts, [], where + ': alert() ran');
}

module.exports = { PAYLOADS, hostileData, assertNoMarkup, assertShownAsText };
