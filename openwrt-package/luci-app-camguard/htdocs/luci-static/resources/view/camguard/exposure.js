'use strict';
'require view';
'require dom';
'require poll';
'require ui';
'require uci';
'require camguard.common as cg';

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

function cell(title, children, style) {
	return E('td', { 'class': 'td', 'data-title': title, 'style': style || null }, children);
}

return view.extend({
	load() {
		return Promise.all([
			cg.read(cg.callMappings),
			cg.read(cg.callForwards),
			cg.read(cg.callFindings),
			uci.load('camguard')
		]);
	},

	render(data) {
		this.root = E('div', {});
		this.fill(data);

		poll.add(() => this.refresh(), 10);

		return this.root;
	},

	refresh() {
		return this.load().then(data => this.fill(data));
	},

	fill([ mappings, forwards, findings ]) {
		this.findings = L.toArray(findings);

		const body = [
			E('h2', {}, [ _('Exposure') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('Everything that lets the internet in: ports that devices opened themselves through UPnP or NAT-PMP, and the port forwards configured on this router.')
			])
		];

		if (mappings == null || forwards == null) {
			body.push(cg.notRunning());
			dom.content(this.root, body);
			return;
		}

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

		dom.content(this.root, body);
	},

	renderMappings(mappings) {
		const now = Math.floor(Date.now() / 1000);

		const rows = mappings.map(m => E('tr', { 'class': 'tr' + (m.violates ? ' cg-violates' : '') }, [
			cell(_('Device'), [ cg.deviceCell(m.device, m.int_addr) ], 'min-width:8em'),
			cell(_('Ports'), [
				E('strong', {}, [ String(m.ext_port), '/', String(m.proto) ]), E('br'), '→ ',
				String(m.int_addr), ':', String(m.int_port)
			], 'white-space:nowrap'),
			cell(_('Description'), [ cg.lan(m.description || '') ], 'min-width:8em'),
			cell(_('Expires'), [ cg.formatExpiry(m.expires, now) ]),
			cell(_('Policy'), [ this.verdict(!m.violates, m.why) ]),
			E('td', { 'class': 'td cbi-section-actions' }, [
				E('button', {
					'class': 'btn cbi-button-remove',
					'click': ui.createHandlerFn(this, 'handleRevoke', m)
				}, [ _('Revoke') ])
			])
		]));

		return table([ _('Device'), _('Ports'), _('Description'), _('Expires'), _('Policy'), '' ],
			rows, _('No device has opened a port through UPnP or NAT-PMP.'));
	},

	renderForwards(forwards) {
		const rows = forwards.map(f => E('tr', { 'class': 'tr' + (f.allowed ? '' : ' cg-violates') }, [
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
			cell(_('Policy'), [ this.verdict(f.allowed, f.why) ]),
			E('td', { 'class': 'td cbi-section-actions' }, [
				(f.enabled && !f.allowed) ? E('button', {
					'class': 'btn cbi-button-negative',
					'click': ui.createHandlerFn(this, 'handleDisable', f)
				}, [ _('Disable') ]) : ''
			])
		]));

		return table([ _('Name'), _('Ports'), _('Goes to'), _('Policy'), '' ],
			rows, _('There are no port forwards.'));
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
		const s = uci.sections('camguard', 'camguard')[0];

		return s != null && s.enforce == '1';
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
		}).catch(err => cg.errorModal(_('Disable a port forward'), err));
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
