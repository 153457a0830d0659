'use strict';
/* The package's static files: ACL and menu (valid and minimal), Makefile, module shape, .pot. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');
const i18n = require('./i18n-scan');

const read = (...p) => fs.readFileSync(path.join(h.PKG, ...p), 'utf8');
const RESOURCES = [ 'htdocs', 'luci-static', 'resources' ];
const MODULES = {
	'camguard/common.js': 'baseclass',
	'camguard/exposuremap.js': 'baseclass',
	'view/camguard/overview.js': 'view',
	'view/camguard/exposure.js': 'view',
	'view/camguard/devices.js': 'view',
	'view/camguard/settings.js': 'view'
};

test('ACL: one group, read and write grants of exactly the camguard methods and uci camguard', () => {
	const acl = JSON.parse(read('root', 'usr', 'share', 'rpcd', 'acl.d', 'luci-app-camguard.json'));

	assert.deepEqual(acl, {
		'luci-app-camguard': {
			description: 'Grant access to camguard',
			read: {
				ubus: { camguard: [ 'status', 'findings', 'devices', 'mappings', 'forwards', 'plan', 'journal' ] },
				uci: [ 'camguard' ]
			},
			write: {
				ubus: { camguard: [ 'audit', 'enforce', 'revoke', 'revert' ] },
				uci: [ 'camguard' ]
			}
		}
	});
});

test('the views call only methods the ACL grants', () => {
	const acl = JSON.parse(read('root', 'usr', 'share', 'rpcd', 'acl.d', 'luci-app-camguard.json'))['luci-app-camguard'];
	const granted = acl.read.ubus.camguard.concat(acl.write.ubus.camguard);
	const source = Object.keys(MODULES).map(m => read(...RESOURCES, m)).join('\n');
	const declared = Array.from(source.matchAll(/object:\s*'([^']+)',\s*method:\s*'([^']+)'/g)).map(m => [ m[1], m[2] ]);

	assert.ok(declared.length >= 10);
	for (const [ object, method ] of declared) {
		assert.equal(object, 'camguard', 'only the camguard object is called directly');
		assert.ok(granted.includes(method), method + ' is granted');
	}
});

test('menu: admin/services/camguard with the four views as tabs, behind the ACL and uci camguard', () => {
	const menu = JSON.parse(read('root', 'usr', 'share', 'luci', 'menu.d', 'luci-app-camguard.json'));

	assert.deepEqual(Object.keys(menu), [
		'admin/services/camguard', 'admin/services/camguard/overview', 'admin/services/camguard/exposure',
		'admin/services/camguard/devices', 'admin/services/camguard/settings'
	]);
	assert.deepEqual(menu['admin/services/camguard'].action, { type: 'alias', path: 'admin/services/camguard/overview' });
	assert.deepEqual(menu['admin/services/camguard'].depends, { acl: [ 'luci-app-camguard' ], uci: { camguard: true } });

	for (const name of [ 'overview', 'exposure', 'devices', 'settings' ]) {
		const node = menu['admin/services/camguard/' + name];
		assert.deepEqual(node.action, { type: 'view', path: 'camguard/' + name });
		assert.ok(fs.existsSync(path.join(h.PKG, ...RESOURCES, 'view', 'camguard', name + '.js')), name + '.js exists');
		assert.equal(typeof node.title, 'string');
		assert.equal(typeof node.order, 'number');
	}
});

test('Makefile: luci.mk package with the required fields', () => {
	const mk = read('Makefile');

	assert.match(mk, /^LUCI_TITLE:=.+$/m);
	assert.match(mk, /^LUCI_DEPENDS:=\+luci-base \+camguard$/m);
	/* PKGARCH all is luci.mk's default for an app without src/: a feed maintainer drops the line. */
	assert.doesNotMatch(mk, /LUCI_PKGARCH/);
	assert.match(mk, /^PKG_LICENSE:=Apache-2\.0$/m);
	/* The Makefile is the LuCI feed's (applications/luci-app-camguard): luci.mk by relative path. */
	assert.match(mk, /^include \.\.\/\.\.\/luci\.mk$/m);
	assert.match(mk, /^# call BuildPackage - OpenWrt buildroot signature$/m);
});

test('modules follow LuCI conventions and never build markup from strings', () => {
	for (const [ file, base ] of Object.entries(MODULES)) {
		const source = read(...RESOURCES, file);
		const deps = h.directives(source).map(d => d.name);

		assert.ok(source.startsWith("'use strict';\n'require "), file + ' starts like an upstream view');
		assert.ok(deps.includes(base), file + ' requires ' + base);
		assert.match(source, new RegExp('^return ' + base + '\\.extend\\(\\{', 'm'), file + ' returns a ' + base + ' class');

		/* sinks that would parse markup (comments may name them) */
		const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
		assert.doesNotMatch(code, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|dom\.parse/, file);
		assert.doesNotMatch(code, /%s'\.format|%s"\.format/, file + ": '%s'.format builds strings; only text may use it");
		assert.doesNotMatch(code, /E\(\s*'</, file + ': E() with markup');
		/* jsmin (luci.mk) predates template literals */
		assert.doesNotMatch(code, /`/, file + ': no template literals');
	}
});

test('po/templates/camguard.pot is what tests/luci/i18n-scan.js generates', () => {
	assert.equal(read('po', 'templates', 'camguard.pot'), i18n.generate(),
		'run `npm run i18n` and commit po/templates/camguard.pot');
});

test('the .pot has the menu titles, the ACL description and plural forms', () => {
	const pot = i18n.generate();

	for (const id of [ 'Camguard', 'Overview', 'Exposure', 'Devices', 'Settings', 'Grant access to camguard' ])
		assert.match(pot, new RegExp('^msgid "' + id + '"$', 'm'), id);

	assert.match(pot, /^msgid "in %d day"\nmsgid_plural "in %d days"$/m);
});
