'use strict';
/*
 * Loads the camguard view modules the way LuCI's L.require() does (the leading
 * 'require x as y' directives become factory arguments) into a jsdom window that runs
 * shim/luci-shim.js, and answers their ubus calls from fixtures/replies.json.
 */
const fs = require('node:fs');
const path = require('node:path');
const { JSDOM } = require('jsdom');

/* The LuCI app these tests are about; they live outside it so the feed's copy is only the app. */
const PKG = path.join(__dirname, '..', '..', 'openwrt-package', 'luci-app-camguard');
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
	const daemon = createDaemon(data, options, uciStore);
	const replies = Object.assign({
		'camguard.status': data.status,
		'camguard.findings': data.findings,
		'camguard.devices': data.devices,
		'camguard.mappings': data.mappings,
		'camguard.forwards': data.forwards,
		'camguard.journal': () => ({ entries: daemon.journal }),
		'camguard.plan': data.plan,
		'camguard.audit': data.status,
		'camguard.enforce': (args) => daemon.enforce(args),
		'camguard.revoke': (args) => daemon.revoke(args),
		'camguard.revert': (args) => daemon.revert(args),
		'session.access': () => ({ access: !options.readonly }),
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
		'uci.apply': () => { daemon.policySaved(); return 0; },
		'uci.confirm': () => 0
	}, options.replies || {});

	if (options.readonly)
		window.L.env.nodespec = { satisfied: true, readonly: true };

	shim.rpc.backend = (object, method, args) => {
		const key = object + '.' + method;

		/* uhttpd checks the session's ACL before the call reaches ubus */
		if (options.readonly && WRITES.includes(key))
			return { error: { code: -32002, message: 'Access denied' } };

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

	return { window, document: window.document, shim, require, calls: shim.rpc.calls, uciStore, replies, daemon };
}

/* What a login with only the read grant may not call (the ACL's write grant and uci writes). */
const WRITES = [
	'camguard.audit', 'camguard.enforce', 'camguard.revoke', 'camguard.revert',
	'uci.set', 'uci.add', 'uci.delete', 'uci.rename', 'uci.order', 'uci.apply', 'uci.confirm'
];

/* The action the fixtures' enforce fixes: the DVR's catch-all forward. */
const DISABLE_DVR = { kind: 'uci_set', config: 'firewall', section: 'cfg093837', option: 'enabled', value: '0', why: 'disable port forward "DVR remote" (forwards \'allowlist\')' };

/*
 * The daemon's journal as the views see it: enforce and revoke add an entry, revert marks one
 * reverted and, like the real daemon, answers `reverted` with a count of its own steps (not of
 * the entry's changes). options.enforceOnApply: action lists the daemon applies by itself, one
 * journal entry each, when a LuCI apply commits enforce '1' (then the page's enforce finds nothing).
 */
function createDaemon(data, options, uciStore) {
	const journal = JSON.parse(JSON.stringify(data.journal.entries));
	let seq = 0;
	let enforcedByItself = false;

	function addEntry(reason, actions) {
		const id = '20261125T13' + String(seq).padStart(2, '0') + '00Z-1';

		seq++;
		journal.unshift({
			id: id, time: data.status.time + seq, reason: reason, state: 'applied', reverted: false,
			actions: actions, applied: actions.map((a, i) => i), failed: [], pending: [], changes: []
		});

		return id;
	}

	return {
		journal: journal,
		addEntry: addEntry,

		policySaved() {
			const main = uciStore.camguard && uciStore.camguard.main;

			if (options.enforceOnApply && main && main.enforce == '1' && !enforcedByItself) {
				options.enforceOnApply.forEach(actions => addEntry('enforce', actions));
				enforcedByItself = true;
			}
		},

		enforce(args) {
			const actions = enforcedByItself ? [] : [ DISABLE_DVR ];

			if (args.dry_run || !actions.length)
				return { journal_id: null, actions: actions, applied: 0, failed: [], verified: [], pending: [] };

			return { journal_id: addEntry('enforce', actions), actions: actions, applied: actions.length, failed: [], verified: [], pending: [] };
		},

		revoke(args) {
			const actions = [ { kind: 'revoke_mapping', proto: args.proto, ext_port: args.ext_port, int_addr: '192.168.1.64', int_port: 554, why: 'revoke the UPnP mapping' } ];

			return { journal_id: addEntry('revoke', actions), actions: actions, applied: 1, failed: [], verified: [], pending: [] };
		},

		revert(args) {
			const entry = journal.find(e => e.id == args.id);

			if (!entry)
				return 4;

			entry.state = 'reverted';
			entry.reverted = true;

			return { journal_id: entry.id, reverted: 2 * entry.actions.length + 1, failed: [] };
		}
	};
}

/* Instantiate view/camguard/<name>.js as LuCI's ui.instantiateView() does and wait for it. */
async function renderView(name, options) {
	const luci = createLuci(options);
	const view = luci.require('view.camguard.' + name);

	/* the journal is read until it stops changing; the page's daemon does not wait */
	luci.require('camguard.common').journalSettleMs = 0;
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

	if (node.disabled)
		throw new Error('a disabled button cannot be clicked: ' + node.textContent);

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

/* The notifications at the top of the page (ui.addNotification). */
function notifications(luci) {
	return Array.from(luci.document.querySelectorAll('#maincontent > .alert-message')).map(text);
}

module.exports = {
	createLuci, renderView, settle, click, button, modal, fixtures, directives, callsTo, text, notifications, PKG
};
