'use strict';
/*
 * Loads the camguard view modules the way LuCI's L.require() does (the leading
 * 'require x as y' directives become factory arguments) into a jsdom window that runs
 * tests/shim/luci-shim.js, and answers their ubus calls from tests/fixtures/replies.json.
 */
const fs = require('node:fs');
const path = require('node:path');
const { JSDOM } = require('jsdom');

const PKG = path.join(__dirname, '..');
const RESOURCES = path.join(PKG, 'htdocs', 'luci-static', 'resources');
const SHIM = fs.readFileSync(path.join(__dirname, 'shim', 'luci-shim.js'), 'utf8');

function fixtures() {
	return JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'replies.json'), 'utf8'));
}

/* The directive strings at the top of a module, as LuCI's compileClass reads them. */
function directives(source) {
	const re = /^\s*(?:\/\/[^\n]*\n|\/\*[\s\S]*?\*\/|(['"])((?:(?!\1)[^\\\n]|\\.)*)\1\s*;?)/;
	const out = [];
	let rest = source;

	for (;;) {
		const m = re.exec(rest);

		if (!m)
			break;

		rest = rest.slice(m[0].length);

		if (m[2] === undefined)
			continue;

		const req = /^require[ \t]+(\S+)(?:[ \t]+as[ \t]+([a-zA-Z_]\S*))?$/.exec(m[2]);

		if (req)
			out.push({ name: req[1], as: req[2] || req[1].replace(/[^a-zA-Z0-9_]/g, '_') });
		else if (!/^use[ \t]+strict$/.test(m[2]))
			break;
	}

	return out;
}

/*
 * A LuCI page: jsdom window + shim + the ubus backend. `replies` overrides fixture replies by
 * "object.method"; a function there gets the call's arguments. `sources` replaces a module's
 * source by name (the tests of the tests use it to break a view on purpose).
 */
function createLuci(options = {}) {
	const data = options.data || fixtures();
	const dom = new JSDOM('<!DOCTYPE html><html><head></head><body>' +
		'<div id="maincontent"><div id="view"></div></div></body></html>', {
		runScripts: 'outside-only',
		url: 'http://192.168.1.1/cgi-bin/luci/admin/services/camguard'
	});
	const window = dom.window;

	window.__alerts = [];
	window.alert = (msg) => window.__alerts.push(String(msg));
	/* The browser's clock stands at the moment the fixture replies were taken (status.time), so
	 * "expires in 2 days" reads the same whenever the tests run. */
	const now = (options.now !== undefined ? options.now : data.status.time) * 1000;
	window.Date.now = () => now;
	window.eval(SHIM);

	const shim = window.__luciShim;
	const modules = {};
	const uciStore = { camguard: JSON.parse(JSON.stringify(data.uci_camguard.values)) };
	const replies = Object.assign({
		'camguard.status': data.status,
		'camguard.findings': data.findings,
		'camguard.devices': data.devices,
		'camguard.mappings': data.mappings,
		'camguard.forwards': data.forwards,
		'camguard.journal': data.journal,
		'camguard.plan': data.plan,
		'camguard.audit': data.status,
		'camguard.enforce': (args) => ({
			journal_id: args.dry_run ? null : '20261125T130000Z-1',
			actions: [ { kind: 'uci_set', config: 'firewall', section: 'cfg093837', option: 'enabled', value: '0', why: 'disable port forward "DVR remote" (forwards \'allowlist\')' } ],
			applied: args.dry_run ? 0 : 1, failed: [], verified: [], pending: []
		}),
		'camguard.revoke': (args) => ({
			journal_id: '20261125T130500Z-1',
			actions: [ { kind: 'revoke_mapping', proto: args.proto, ext_port: args.ext_port, int_addr: '192.168.1.64', int_port: 554, why: 'revoke the UPnP mapping' } ],
			applied: 1, failed: [], verified: [], pending: []
		}),
		'camguard.revert': (args) => ({ journal_id: args.id || '20261125T120000Z-1', reverted: 1, failed: [] }),
		'uci.get': (args) => (uciStore[args.config] ? { values: uciStore[args.config] } : 4),
		'uci.changes': () => ({ changes: {} }),
		'uci.add': (args) => {
			const name = args.name || ('cfg' + Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0'));
			uciStore[args.config][name] = Object.assign({ '.type': args.type, '.name': name, '.anonymous': !args.name, '.index': Object.keys(uciStore[args.config]).length }, args.values || {});
			return { section: name };
		},
		'uci.set': (args) => { Object.assign(uciStore[args.config][args.section], args.values); return 0; },
		'uci.delete': (args) => {
			if (args.options)
				args.options.forEach(o => delete uciStore[args.config][args.section][o]);
			else
				delete uciStore[args.config][args.section];
			return 0;
		},
		'uci.apply': () => 0,
		'uci.confirm': () => 0
	}, options.replies || {});

	shim.rpc.backend = (object, method, args) => {
		const key = object + '.' + method;

		if (!(key in replies))
			return { error: { code: -32000, message: 'Object not found' } };

		let r = replies[key];

		if (typeof r == 'function')
			r = r(args);

		if (r && r.error)
			return r;

		/* uhttpd's reply: [ status ] or [ status, data ]; a bare number is a ubus status */
		return (typeof r == 'number') ? [ r ] : [ 0, r ];
	};

	function require(name) {
		if (shim[name])
			return shim[name];

		if (modules[name])
			return modules[name];

		const file = path.join(RESOURCES, name.replace(/\./g, '/') + '.js');
		const source = (options.sources && options.sources[name]) || fs.readFileSync(file, 'utf8');
		const deps = directives(source);
		const instances = deps.map(d => require(d.name));
		const factory = window.eval('(function(window, document, L' + deps.map(d => ', ' + d.as).join('') +
			') { ' + source + '\n})\n//# sourceURL=' + file);
		const cls = factory.apply(factory, [ window, window.document, window.L ].concat(instances));

		if (!shim.baseclass.isSubclass(cls))
			throw new TypeError('"' + name + '" factory yields invalid constructor');

		modules[name] = new cls();

		return modules[name];
	}

	return { window, document: window.document, shim, require, calls: shim.rpc.calls, uciStore, replies };
}

/* Instantiate view/camguard/<name>.js as LuCI's ui.instantiateView() does and wait for it. */
async function renderView(name, options) {
	const luci = createLuci(options);
	const view = luci.require('view.camguard.' + name);

	await view.ready;
	luci.view = view;

	return luci;
}

/* Let pending promises (handlers, modals) settle. */
async function settle(luci) {
	for (let i = 0; i < 10; i++) {
		await Promise.all(luci.shim.ui.pending.splice(0));
		await new Promise(resolve => setTimeout(resolve, 0));
	}
}

function click(luci, node) {
	if (!node)
		throw new Error('nothing to click');

	node.dispatchEvent(new luci.window.MouseEvent('click', { bubbles: true }));

	return settle(luci);
}

/* The button whose text is `label`, inside `root` (default: the whole page). */
function button(luci, label, root) {
	const all = Array.from((root || luci.document).querySelectorAll('button'));
	return all.find(b => b.textContent.trim() == label) || null;
}

function modal(luci) {
	return luci.document.querySelector('#modal_overlay .modal');
}

module.exports = { createLuci, renderView, settle, click, button, modal, fixtures, directives, PKG };
