'use strict';
/*
 * The tests of the tests: the shim must turn a bare string into markup exactly where LuCI
 * does, so that a view which forgets the array wrapping fails the hostile-string tests.
 */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');
const { PAYLOADS, hostileData, assertShownAsText } = require('./hostile');

const IMG = PAYLOADS['img onerror'];
const VIEWS = path.join(h.PKG, 'htdocs', 'luci-static', 'resources', 'view', 'camguard');

test('E() and dom.content: a bare string is markup, an array child is text (as luci.js)', () => {
	const { window } = h.createLuci();
	/* run in the page, so that {} is an object of the page, as in a view */
	const count = (js) => window.eval('(function(s) { const n = ' + js + '; return n.querySelectorAll("img").length; })')(IMG);

	assert.equal(count("E('td', {}, s)"), 1);
	assert.equal(count("E('td', s)"), 1);
	assert.equal(count("E('td', {}, [ s ])"), 0);
	assert.equal(count("E('td', {}, [ E('span', {}, [ s ]) ])"), 0);
	assert.equal(count("(function() { const d = E('div'); L.dom.content(d, s); return d; })()"), 1);
	assert.equal(count("(function() { const d = E('div'); L.dom.content(d, [ s ]); return d; })()"), 0);
	assert.equal(window.eval('(function(s) { return E("td", {}, [ s ]).textContent; })')(IMG), IMG);
});

test('ui.showModal treats its title as markup, like ui.js', () => {
	const luci = h.createLuci();
	luci.shim.ui.showModal(IMG, [ IMG ]);
	assert.equal(h.modal(luci).querySelectorAll('img').length, 1);
});

test('String.prototype.format: %s is raw, %h escapes', () => {
	const { window } = h.createLuci();
	assert.equal(window.eval("'<p>%s</p>'.format('<b>')"), '<p><b></p>');
	assert.equal(window.eval("'%h'.format('<b a=\"1\">')"), '&#60;b a=&#34;1&#34;&#62;');
});

/* Load a view with one array wrapping removed, as a careless edit would. */
async function brokenView(name, from, to) {
	const file = path.join(VIEWS, name + '.js');
	const source = fs.readFileSync(file, 'utf8');

	assert.ok(source.includes(from), 'the view no longer contains: ' + from);

	return h.renderView(name, {
		data: hostileData(h.fixtures(), IMG),
		sources: { ['view.camguard.' + name]: source.replace(from, to) }
	});
}

test('a view that passes a UPnP description as a bare string fails the check', async () => {
	const luci = await brokenView('exposure', "[ cg.lan(m.description || '') ]", 'm.description');
	assert.throws(() => assertShownAsText(luci, IMG, 'broken exposure'), /<img> element was created/);
});

test('a view that passes a finding title as a bare string fails the check', async () => {
	const luci = await brokenView('overview', "E('strong', {}, [ f.title || f.id ])", "E('strong', {}, f.title)");
	assert.throws(() => assertShownAsText(luci, IMG, 'broken overview'), /<img> element was created/);
});

test('a view that formats a hostname into markup fails the check', async () => {
	const luci = await brokenView('devices', "E('strong', {}, [ cg.lan(names[0]",
		"E('strong', {}, '<bdi>%s</bdi>'.format(names[0]), [ cg.lan(names[0]");
	assert.throws(() => assertShownAsText(luci, IMG, 'broken devices'), /<img> element was created/);
});
