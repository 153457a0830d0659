'use strict';
/* The exposure picture: internet → router → devices, one edge per open path, LAN strings as text. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { PAYLOADS, hostileData, assertShownAsText } = require('./hostile');
const { text } = h;

function edges(root) {
	return Array.from(root.querySelectorAll('svg.cg-map g.cg-edge'));
}

function targetNames(root) {
	return Array.from(root.querySelectorAll('svg.cg-map g.cg-target > text')).map(t => t.textContent);
}

/* n UPnP mappings of one console, as the daemon lists them. */
function manyMappings(n) {
	const device = { ip: '192.168.1.31', mac: '7c:ed:8d:44:21:9a', hostname: 'XboxOne', 'class': 'other', vendor: null, confidence: 'low', reasons: [] };

	return Array.from({ length: n }, (_, i) => ({
		proto: 'UDP', ext_port: 40000 + i, int_addr: '192.168.1.31', int_port: 40000 + i, every_port: false,
		description: 'game ' + i, expires: 0, seen_in: 'nft', live: true, handle: i, device: device, violates: false, why: 'UPnP is allowed'
	}));
}

test('picture: one edge per open path, to each device the internet can reach, severity as colour', async () => {
	const luci = await h.renderView('exposure');
	const all = edges(luci.document);

	/* 5 UPnP mappings and 2 enabled forwards; the disabled "old ssh" opens nothing */
	assert.equal(all.length, 7);
	assert.deepEqual(all.map(e => e.getAttribute('data-kind')).sort(), [ 'dmz', 'forward', 'upnp', 'upnp', 'upnp', 'upnp', 'upnp' ]);
	assert.equal(all.filter(e => e.getAttribute('data-row') == 'cg-row-forward-cfg0a3837').length, 0);

	const dmz = all.find(e => e.getAttribute('data-kind') == 'dmz');
	assert.equal(dmz.getAttribute('data-severity'), 'critical');
	assert.equal(dmz.querySelectorAll('path')[1].getAttribute('stroke'), '#8b0000');
	assert.equal(all.find(e => e.getAttribute('data-row') == 'cg-row-mapping-TCP-554').getAttribute('data-severity'), 'high');

	/* devices, worst first; cameras and NVRs marked */
	const names = targetNames(luci.document);
	assert.match(names[0], /^nvr-garage \(NVR\/DVR\)$/);
	assert.deepEqual(names.slice(1).map(n => n.replace(/ \(.*$/, '')).sort(), [ 'XboxOne', 'nas', 'reolink-front', 'smartplug-kitchen' ]);
	assert.equal(luci.document.querySelectorAll('svg.cg-map .cg-camera-mark').length, 2, 'reolink-front and nvr-garage');
});

test('picture: clicking an edge brings its row into view, with the row\'s revoke button focused', async () => {
	const luci = await h.renderView('exposure');
	const edge = edges(luci.document).find(e => e.getAttribute('data-row') == 'cg-row-mapping-TCP-9000');

	await h.click(luci, edge);

	const row = luci.document.getElementById('cg-row-mapping-TCP-9000');
	assert.ok(row.classList.contains('cg-highlight'));
	assert.equal(luci.document.querySelectorAll('.cg-highlight').length, 1);
	assert.equal(luci.document.activeElement, row.querySelector('button'));
	assert.equal(luci.document.activeElement.textContent, 'Revoke');

	/* the forward's edge leads to the forward, whose button disables it */
	await h.click(luci, edges(luci.document).find(e => e.getAttribute('data-kind') == 'dmz'));
	assert.equal(luci.document.activeElement.textContent, 'Disable');

	/* the page's poll does not redraw unchanged data and lose the mark */
	await luci.shim.poll.step();
	await h.settle(luci);
	assert.ok(luci.document.querySelector('#cg-row-forward-cfg093837.cg-highlight'));

	/* the keyboard works too */
	edge.dispatchEvent(new luci.window.KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
	assert.ok(luci.document.getElementById('cg-row-mapping-TCP-9000').classList.contains('cg-highlight'));
});

test('picture: the Overview shows it too, each edge naming the Exposure row it leads to', async () => {
	const luci = await h.renderView('overview');

	assert.equal(edges(luci.document).length, 7);
	assert.ok(edges(luci.document).every(e => luci.document.getElementById(e.getAttribute('data-row')) == null),
		'the rows are on the Exposure page');
});

test('picture: a firewall rule that opens the router is an edge to the router itself, with its row', async () => {
	const data = h.fixtures();

	data.status.findings.push({
		id: 'router.admin_from_wan', severity: 'high', title: 'The router\'s SSH can be reached from the internet',
		detail: 'Rule "Allow-SSH-WAN" accepts port 22 from wan.',
		subject: { kind: 'section', config: 'firewall', section: 'cfg0f1234', label: 'Allow-SSH-WAN' },
		evidence: { rule: 'cfg0f1234', name: 'Allow-SSH-WAN', src: 'wan', ports: [ { port: 22, service: 'SSH' } ] },
		remedy: 'Disable this rule.', fix: null
	});
	data.findings.findings = data.status.findings;

	const luci = await h.renderView('exposure', { data });
	const rule = edges(luci.document).find(e => e.getAttribute('data-kind') == 'rule');

	assert.ok(rule);
	assert.ok(targetNames(luci.document).includes('The router itself'));
	await h.click(luci, rule);

	const row = luci.document.querySelector('.cg-highlight');
	assert.match(text(row), /The router's SSH can be reached from the internet/);
	assert.equal(row.querySelector('a').getAttribute('href'), '/cgi-bin/luci/admin/network/firewall/rules');
});

test('picture: one device with 300 UPnP mappings is one device with a counted edge', async () => {
	const data = h.fixtures();

	data.mappings.mappings = manyMappings(300);
	data.forwards.forwards = [];

	const luci = await h.renderView('exposure', { data });

	assert.deepEqual(targetNames(luci.document), [ 'XboxOne (Not a camera)' ]);
	assert.equal(edges(luci.document).length, 1);
	assert.match(text(luci.document.querySelector('svg.cg-map g.cg-chip')), /300 UPnP mappings/);
	/* small enough for a page: one row, not 300 */
	assert.ok(+luci.document.querySelector('svg.cg-map').getAttribute('height') < 200);
});

test('picture: 300 mappings from 300 devices stay readable: the worst first, the rest counted', async () => {
	const data = h.fixtures();

	data.mappings.mappings = manyMappings(300).map((m, i) => Object.assign({}, m, {
		int_addr: '10.0.' + (i >> 8) + '.' + (i & 255),
		device: Object.assign({}, m.device, { ip: '10.0.' + (i >> 8) + '.' + (i & 255), mac: null, hostname: 'host-' + i })
	}));

	const luci = await h.renderView('exposure', { data });
	const names = targetNames(luci.document);

	assert.equal(names.length, 60);
	assert.equal(names[0], 'nvr-garage (NVR/DVR)');
	assert.match(text(luci.document.querySelector('.cg-exposure-map')), /and 242 more devices, listed in the tables below/);
});

test('picture: at one device and on a phone, everything fits the width', async () => {
	const data = h.fixtures();

	data.mappings.mappings = manyMappings(1);
	data.mappings.mappings[0].device.hostname = 'the-long-named-games-console-in-the-living-room';
	data.forwards.forwards = [];

	const luci = await h.renderView('exposure', { data });
	const xmap = luci.require('camguard.exposuremap');
	const cg = luci.require('camguard.common');
	const phone = luci.window.eval('(function(x, p) { return x.render(p, { width: 340 }); })')(xmap,
		xmap.paths(data.mappings.mappings.concat(manyMappings(3).map(m => Object.assign({}, m, { ext_port: m.ext_port + 100 }))), [], []));
	const svg = phone.querySelector('svg');

	assert.equal(cg.severityColor('critical'), '#8b0000');
	assert.equal(svg.getAttribute('width'), '340');
	for (const rect of phone.querySelectorAll('g.cg-chip rect'))
		assert.ok(+rect.getAttribute('x') + +rect.getAttribute('width') <= 340, 'a label fits: ' + rect.parentNode.textContent);
	for (const t of phone.querySelectorAll('text'))
		assert.ok(+t.getAttribute('font-size') >= 12, 'readable text');
	/* a long name with its kind is cut to the width (about 8 px a character at 14 px) */
	for (const t of phone.querySelectorAll('g.cg-target > text'))
		assert.ok(+t.getAttribute('x') + 8 * t.textContent.length <= 340, 'a name fits: ' + t.textContent);

	assert.equal(edges(luci.document).length, 1);
});

test('picture: nothing open says so, and an incomplete audit does not claim it', async () => {
	const data = h.fixtures();

	data.mappings.mappings = [];
	data.forwards.forwards = [];

	let luci = await h.renderView('exposure', { data });
	assert.match(text(luci.document.querySelector('.cg-exposure-map')), /Nothing on your network can be reached from the internet/);

	data.status.coverage = { complete: false, sources: [ { what: 'UPnP leases', path: null, state: 'unreadable', detail: null } ] };
	luci = await h.renderView('exposure', { data });
	assert.match(text(luci.document.querySelector('.cg-exposure-map')), /part of the router could not be read/);
});

for (const [ label, payload ] of Object.entries(PAYLOADS)) {
	test('picture: a hostname of ' + label + ' enters it as text only', async () => {
		const luci = await h.renderView('exposure', { data: hostileData(h.fixtures(), payload) });
		const map = luci.document.querySelector('svg.cg-map');

		assertShownAsText(luci, payload, 'exposure picture');
		assert.ok(Array.from(map.querySelectorAll('title')).some(t => t.textContent.includes(payload)), 'the full name in a tooltip');
		assert.ok(Array.from(map.querySelectorAll('text')).every(t => t.textContent.length < 80), 'names are cut short in the picture');
	});
}
