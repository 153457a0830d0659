'use strict';
'require view';
'require dom';
'require poll';
'require ui';
'require uci';
'require camguard.common as cg';
'require camguard.exposuremap as xmap';

/* The finding camguard has about a redirect section, so "disable" can enforce exactly it. */
function forwardSubject(findings, fwd) {
	const f = findings.find(f => f.subject && f.subject.kind == 'section' &&
		f.subject.config == 'firewall' && f.subject.section == fwd.section && f.fix);

	if (f)
		return f.subject;

	return { kind: 'section', config: 'firewall', section: fwd.section, label: fwd.name || fwd.section };
}

function table(titles, rows, empty) {
	if (!rows.length)
		return E('p', {}, [ E('em', {}, [ empty ]) ]);

	return E('table', { 'class': 'table', 'style': 'table-layout:auto' }, [
		E('tr', { 'class': 'tr table-titles' }, titles.map(t => E('th', { 'class': 'th' }, [ t ])))
	].concat(rows));
}

/* Brings a row into view and marks it, for a click on the picture or a link from the Overview. */
function highlight(id) {
	const row = id ? document.getElementById(id) : null;

	if (!row)
		return false;

	document.querySelectorAll('.cg-highlight').forEach(r => r.classList.remove('cg-highlight'));
	row.classList.add('cg-highlight');
	row.style.outline = '3px solid #31708f';

	if (row.scrollIntoView)
		row.scrollIntoView({ block: 'center' });

	const action = row.querySelector('button:not([disabled])');

	if (action)
		action.focus();

	return true;
}

function cell(title, children, style) {
	return E('td', { 'class': 'td', 'data-title': title, 'style': style || null }, children);
}

return view.extend({
	load() {
		return Promise.all([
			cg.read(cg.callMappings),
			cg.read(cg.callForwards),
			cg.read(cg.callFindings),
			cg.read(cg.callStatus),
			uci.load('camguard')
		]);
	},

	render(data) {
		this.root = E('div', {});
		this.fill(data);

		poll.add(() => this.follow(), 10);

		/* a link from the Overview's picture names the row in the URL */
		const hash = (window.location.hash || '').replace(/^#/, '');

		if (hash)
			window.setTimeout(() => highlight(hash), 0);

		return this.root;
	},

	refresh() {
		return this.load().then(data => this.fill(data));
	},

	/* Redraws only when something changed, so a row picked in the picture stays marked. */
	follow() {
		return this.load().then(data => {
			if (JSON.stringify(data.slice(0, 4)) != this.shown)
				this.fill(data);
		});
	},

	fill(data) {
		const [ mappings, forwards, findings, status ] = data;

		this.shown = JSON.stringify(data.slice(0, 4));
		this.findings = L.toArray(findings);

		const body = [
			E('h2', {}, [ _('Exposure') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('Everything that lets the internet in: ports that devices opened themselves through UPnP or NAT-PMP, and the port forwards configured on this router.')
			])
		];

		if (!cg.canWrite())
			body.push(cg.readOnlyNotice());

		if (mappings == null || forwards == null) {
			body.push(cg.notRunning());
			dom.content(this.root, body);
			return;
		}

		const complete = !(status && status.coverage && status.coverage.complete === false);
		const rules = xmap.ruleFindings(this.findings, forwards);

		body.push(E('div', { 'class': 'cbi-section' }, [
			E('h3', {}, [ _('What the internet can reach') ]),
			xmap.render(xmap.paths(mappings, forwards, this.findings), {
				routerName: (status && status.router) ? status.router.hostname : null,
				complete: complete,
				onSelect: edge => highlight(edge.row)
			})
		]));

		body.push(E('div', { 'style': 'display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start' }, [
			E('div', { 'class': 'cbi-section', 'style': 'flex:3 1 40em;min-width:0;overflow-x:auto' }, [
				E('h3', {}, [ _('UPnP and NAT-PMP mappings') ]),
				this.renderMappings(mappings)
			]),
			E('div', { 'class': 'cbi-section', 'style': 'flex:2 1 30em;min-width:0;overflow-x:auto' }, [
				E('h3', {}, [ _('Port forwards') ]),
				this.renderForwards(forwards)
			])
		]));

		if (rules.length)
			body.push(E('div', { 'class': 'cbi-section', 'style': 'overflow-x:auto' }, [
				E('h3', {}, [ _('Firewall rules open to the internet') ]),
				this.renderRules(rules)
			]));

		dom.content(this.root, body);
	},

	renderMappings(mappings) {
		const now = Math.floor(Date.now() / 1000);

		const rows = mappings.map(m => E('tr', { 'class': 'tr' + (m.violates ? ' cg-violates' : ''), 'id': xmap.mappingRow(m) }, [
			cell(_('Device'), [ cg.deviceCell(m.device, m.int_addr) ], 'min-width:8em'),
			cell(_('Ports'), [
				E('strong', {}, [ String(m.ext_port), '/', String(m.proto) ]), E('br'), '→ ',
				String(m.int_addr), ':', String(m.int_port),
				(m.live === false) ? E('div', { 'class': 'cg-dormant', 'style': 'white-space:normal' }, [ E('small', {}, [
					_('Not in the firewall now: miniupnpd makes it again when it restarts.')
				]) ]) : ''
			], 'white-space:nowrap'),
			cell(_('Description'), [ cg.lan(m.description || '') ], 'min-width:8em'),
			cell(_('Expires'), [ cg.formatExpiry(m.expires, now) ]),
			cell(_('Policy'), [ this.verdict(!m.violates, m.why) ]),
			E('td', { 'class': 'td cbi-section-actions' }, [
				cg.writeButton(_('Revoke'), 'cbi-button-remove', ui.createHandlerFn(this, 'handleRevoke', m))
			])
		]));

		return table([ _('Device'), _('Ports'), _('Description'), _('Expires'), _('Policy'), '' ],
			rows, _('No device has opened a port through UPnP or NAT-PMP.'));
	},

	renderForwards(forwards) {
		const forwardsPage = L.url('admin/network/firewall/forwards');
		const rows = forwards.map(f => E('tr', { 'class': 'tr' + ((f.enabled && !f.allowed) ? ' cg-violates' : '') + (f.enabled ? '' : ' cg-disabled'), 'id': xmap.forwardRow(f) }, [
			cell(_('Name'), [
				E('strong', {}, [ cg.lan(f.name || f.section) ]),
				f.enabled ? '' : E('em', {}, [ ' ', _('(disabled)') ])
			], 'min-width:7em'),
			cell(_('Ports'), [
				f.every_port ? E('strong', { 'style': 'color:#c9302c' }, [ _('every port') ]) : cg.portRange(f.src_dport),
				' ', L.toArray(f.protocols).join('/'),
				f.dest_port ? ' → ' + cg.portRange(f.dest_port) : ''
			], 'white-space:nowrap'),
			cell(_('Goes to'), [ cg.deviceCell(f.device, f.dest_ip || _('the router itself')) ], 'min-width:7em'),
			cell(_('Policy'), [ f.enabled ? this.verdict(f.allowed, f.why) : this.disabledVerdict() ]),
			E('td', { 'class': 'td cbi-section-actions' }, [
				(f.enabled && !f.allowed)
					? cg.writeButton(_('Disable'), 'cbi-button-negative', ui.createHandlerFn(this, 'handleDisable', f))
					: f.enabled ? E('a', { 'href': forwardsPage, 'title': _('Network → Firewall → Port Forwards') }, [ _('Edit in the firewall') ]) : ''
			])
		]));

		return table([ _('Name'), _('Ports'), _('Goes to'), _('Policy'), '' ],
			rows, _('There are no port forwards.'));
	},

	disabledVerdict() {
		return E('span', { 'class': 'cg-verdict-disabled', 'style': 'color:#777' }, [ _('Disabled: nothing is forwarded') ]);
	},

	/* Firewall rules and zone policies that open the router or the LAN, with their fix or LuCI page. */
	renderRules(rules) {
		const rows = rules.map((f, i) => {
			const fix = (f.fix && Array.isArray(f.fix.actions) && f.fix.actions.length) ? f.fix : null;
			const path = cg.luciPath(f);

			return E('tr', { 'class': 'tr', 'id': xmap.ruleRow(f, i) }, [
				cell(_('Finding'), [ cg.severityBadge(f.severity), ' ', E('strong', {}, [ f.title || f.id ]) ], 'min-width:10em'),
				cell(_('Why'), [ f.detail || '' ], 'min-width:10em'),
				E('td', { 'class': 'td cbi-section-actions' }, [
					fix ? cg.writeButton(_('Fix this…'), 'cbi-button-action', ui.createHandlerFn(this, 'handleFixRule', f)) : '',
					(!fix && path) ? E('a', { 'href': path.url }, [ path.label ]) : ''
				])
			]);
		});

		return table([ _('Finding'), _('Why'), '' ], rows, '');
	},

	handleFixRule(f) {
		cg.confirmAndRun({
			title: _('Fix a finding'),
			body: [
				E('p', {}, [ E('strong', {}, [ f.title || f.id ]) ]),
				E('p', {}, [ _('Camguard will:') ]),
				cg.actionList(f.fix.actions)
			],
			confirm: _('Fix it'),
			run: () => cg.enforce(false, f.id, f.subject),
			enforcing: this.enforcing(),
			done: () => this.refresh()
		});

		return Promise.resolve();
	},

	verdict(allowed, why) {
		return E('span', {}, [
			allowed
				? E('span', { 'style': 'color:#3c763d' }, [ _('Allowed') ])
				: E('strong', { 'style': 'color:#c9302c' }, [ _('Against your policy') ]),
			why ? E('br') : '',
			why ? E('small', {}, [ why ]) : ''
		]);
	},

	enforcing() {
		return cg.effectivePolicy().enforce == '1';
	},

	handleRevoke(m) {
		cg.confirmAndRun({
			title: _('Revoke a UPnP mapping'),
			body: [
				E('p', {}, [ _('External port:'), ' ', E('strong', {}, [ String(m.ext_port), '/', String(m.proto) ]) ]),
				E('p', {}, [
					_('Device:'), ' ', cg.lan(m.device ? cg.deviceName(m.device) : m.int_addr),
					' (', String(m.int_addr), ':', String(m.int_port), ')'
				]),
				E('p', {}, [ _('Description:'), ' ', cg.lan(m.description || '') ]),
				E('p', {}, [ _('The device can open it again unless UPnP is off or denied to it (policy "restricted", or "Deny UPnP" under Devices).') ])
			],
			confirm: _('Revoke'),
			run: () => cg.revoke(m.proto, m.ext_port),
			done: () => this.refresh()
		});

		return Promise.resolve();
	},

	/* Ask camguard what disabling would do (a dry run), show it, then enforce that subject. */
	handleDisable(f) {
		const subject = forwardSubject(this.findings, f);

		return cg.enforce(true, null, subject).then(plan => {
			cg.confirmAndRun({
				title: _('Disable a port forward'),
				body: [
					E('p', {}, [ _('Port forward'), ' ', E('strong', {}, [ cg.lan(f.name || f.section) ]), ': ', f.why || '' ]),
					E('p', {}, [ _('Camguard will:') ]),
					cg.actionList(plan.actions),
					E('p', {}, [ _('The forward is disabled, not deleted; you can undo this afterwards.') ])
				],
				confirm: _('Disable'),
				run: () => cg.enforce(false, null, subject),
				enforcing: this.enforcing(),
				done: () => this.refresh()
			});
		}).catch(err => cg.notifyError(_('Disable a port forward'), err));
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
