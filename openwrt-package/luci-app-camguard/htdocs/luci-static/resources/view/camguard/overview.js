'use strict';
'require view';
'require dom';
'require ui';
'require uci';
'require camguard.common as cg';

/*
 * The recommended policy ("apply the recommended policy" on this page):
 *  - enforce 1: camguard keeps the router this way and undoes changes that break the policy;
 *  - upnp 'restricted': games consoles and media servers keep UPnP, but secure mode is on,
 *    only ports 1024-65535 may be mapped and cameras (and devices set to "deny") may map
 *    nothing; their live mappings are removed. NCSC advises UPnP off; 'restricted' is the
 *    step that protects cameras without breaking every console at once, and Settings offers 'off';
 *  - forwards 'allowlist': port forwards not on the allowlist are disabled (never deleted);
 *    the dialog lets the owner keep forwards that do not go to a camera;
 *  - camera_internet 'allow': many cameras need their cloud for the vendor's app, so
 *    cutting them off is a per-device choice on the Devices page.
 */
const RECOMMENDED = {
	enforce: '1',
	upnp: 'restricted',
	forwards: 'allowlist',
	camera_internet: 'allow'
};

function mainSection() {
	const s = uci.sections('camguard', 'camguard')[0];

	return s ? s['.name'] : null;
}

/* Whether a redirect is kept under 'allowlist': by section name or by its name. */
function onAllowlist(fwd) {
	return uci.sections('camguard', 'allow_forward').some(s =>
		s.redirect && (s.redirect == fwd.section || (fwd.name != null && s.redirect == fwd.name)));
}

return view.extend({
	load() {
		return Promise.all([
			cg.read(cg.callStatus),
			cg.read(cg.callJournal),
			uci.load('camguard')
		]);
	},

	render(data) {
		this.root = E('div', {});
		this.fill(data);

		return this.root;
	},

	/* Unloading makes uci.load() fetch again, which also updates LuCI's change counter. */
	refresh() {
		uci.unload('camguard');
		return this.load().then(data => this.fill(data));
	},

	fill([ status, journal ]) {
		const body = [
			E('h2', {}, [ _('Camguard') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('Camguard checks your router against the UK NCSC advice for smart cameras: no UPnP and no port forwards that expose cameras to the internet. It explains what it finds and can fix it for you; every change it makes is journaled and can be undone.')
			])
		];

		if (!status || !status.counts) {
			body.push(cg.notRunning());
			dom.content(this.root, body);
			return;
		}

		body.push(this.renderSummary(status));
		body.push(this.renderPolicy(status));
		body.push(this.renderFindings(L.toArray(status.findings)));

		if (L.toArray(status.problems).length)
			body.push(this.renderProblems(status.problems));

		body.push(this.renderJournal(L.toArray(journal)));

		dom.content(this.root, body);
	},

	renderSummary(status) {
		const router = status.router || {};
		const score = +status.score || 0;
		const color = (score >= 80) ? '#3c763d' : (score >= 50) ? '#d58512' : '#c9302c';

		const counts = cg.severities.map(sev => E('span', { 'style': 'margin-right:1em;white-space:nowrap' }, [
			cg.severityBadge(sev), ' ', String(+status.counts[sev] || 0)
		]));

		return E('div', { 'class': 'cbi-section' }, [
			E('div', { 'style': 'display:flex;flex-wrap:wrap;align-items:center;gap:1.5em' }, [
				E('div', { 'style': 'font-size:300%;font-weight:bold;color:' + color }, [
					String(score), E('small', { 'style': 'font-size:40%' }, [ ' / 100' ])
				]),
				E('div', { 'style': 'flex:1 1 20em;min-width:0' }, [
					E('p', {}, counts),
					E('p', {}, [
						_('Router:'), ' ', cg.lan(router.hostname || '?'),
						router.model ? ' (' : '', router.model ? cg.lan(router.model) : '', router.model ? ')' : '',
						router.release ? ', OpenWrt ' : '', router.release ? cg.lan(router.release) : ''
					]),
					E('p', {}, [ _('Last audit:'), ' ', cg.formatTime(status.time) ])
				]),
				E('div', {}, [
					E('button', {
						'class': 'btn cbi-button-action',
						'click': ui.createHandlerFn(this, 'handleAudit')
					}, [ _('Audit now') ])
				])
			])
		]);
	},

	renderPolicy(status) {
		const sid = mainSection();
		const enforcing = sid && uci.get('camguard', sid, 'enforce') == '1';
		const isRecommended = sid && Object.keys(RECOMMENDED).every(k => uci.get('camguard', sid, k) == RECOMMENDED[k]);

		return E('div', { 'class': 'cbi-section' }, [
			E('h3', {}, [ _('Policy') ]),
			E('p', {}, [
				enforcing
					? _('Enforcement is on: camguard keeps the router in line with your policy.')
					: _('Audit only: camguard reports what it finds and changes nothing unless you press a button on this page.')
			]),
			isRecommended
				? E('p', {}, [ E('em', {}, [ _('You use the recommended policy.') ]) ])
				: E('p', {}, [
					E('button', {
						'class': 'btn cbi-button-positive important',
						'click': ui.createHandlerFn(this, 'handleRecommended')
					}, [ _('Apply the recommended policy…') ])
				])
		]);
	},

	renderFindings(findings) {
		const groups = cg.severities.map(sev => {
			const list = findings.filter(f => f.severity == sev);

			if (!list.length)
				return null;

			return E('div', { 'class': 'cbi-section' }, [
				E('h3', {}, [ cg.severityBadge(sev), ' ', N_(list.length, '%d finding', '%d findings').format(list.length) ]),
				E('div', {}, list.map(f => this.renderFinding(f)))
			]);
		}).filter(g => g != null);

		if (!groups.length)
			return E('div', { 'class': 'cbi-section' }, [
				E('p', {}, [ E('em', {}, [ _('No findings: nothing on this router exposes your cameras.') ]) ])
			]);

		return E('div', {}, groups);
	},

	renderFinding(f) {
		const actions = (f.fix && Array.isArray(f.fix.actions)) ? f.fix.actions : [];
		/* titles and details quote LAN strings; a direction override in one reorders the rest */
		const bidi = cg.hasBidiControls(f.title) || cg.hasBidiControls(f.detail);

		return E('div', { 'class': 'cg-finding', 'style': 'border-left:4px solid #ccc;padding:0 0 0 .8em;margin:0 0 1.2em 0;overflow-wrap:anywhere' }, [
			E('p', { 'style': 'margin-bottom:.3em' }, [ E('strong', {}, [ f.title || f.id ]), bidi ? ' ' : '', bidi ? cg.bidiWarning() : '' ]),
			E('p', { 'style': 'margin-bottom:.3em' }, [ f.detail || '' ]),
			E('p', { 'style': 'margin-bottom:.3em' }, [ E('em', {}, [ _('What to do:') ]), ' ', f.remedy || '' ]),
			actions.length ? E('button', {
				'class': 'btn cbi-button-action',
				'click': ui.createHandlerFn(this, 'handleFix', f)
			}, [ _('Fix this…') ]) : ''
		]);
	},

	renderProblems(problems) {
		return E('div', { 'class': 'cbi-section' }, [
			E('h3', {}, [ _('Could not be read') ]),
			E('p', {}, [ _('Camguard skipped these lines; what they describe was not audited.') ]),
			E('ul', {}, problems.map(p => E('li', { 'style': 'overflow-wrap:anywhere' }, [
				E('code', {}, [ p.source + (p.line ? ':' + p.line : '') ]), ' ', p.message || ''
			])))
		]);
	},

	renderJournal(entries) {
		const rows = entries.slice(0, 10).map(e => E('tr', { 'class': 'tr' }, [
			E('td', { 'class': 'td', 'data-title': _('Time') }, [ cg.formatTime(e.time) ]),
			E('td', { 'class': 'td', 'data-title': _('Journal entry') }, [ E('code', {}, [ e.id ]) ]),
			E('td', { 'class': 'td', 'data-title': _('Changes'), 'style': 'overflow-wrap:anywhere' }, [
				E('details', {}, [
					E('summary', {}, [
						e.reason || '', ': ',
						N_(L.toArray(e.actions).length, '%d change', '%d changes').format(L.toArray(e.actions).length)
					]),
					cg.actionList(e.actions)
				])
			]),
			E('td', { 'class': 'td cbi-section-actions' }, [
				e.reverted ? E('em', {}, [ _('undone') ]) : E('button', {
					'class': 'btn cbi-button-negative',
					'click': ui.createHandlerFn(this, 'handleUndo', e.id)
				}, [ _('Undo') ])
			])
		]));

		return E('div', { 'class': 'cbi-section' }, [
			E('h3', {}, [ _('Recent changes') ]),
			rows.length
				? E('table', { 'class': 'table' }, [
					E('tr', { 'class': 'tr table-titles' }, [
						E('th', { 'class': 'th' }, [ _('Time') ]),
						E('th', { 'class': 'th' }, [ _('Journal entry') ]),
						E('th', { 'class': 'th' }, [ _('Changes') ]),
						E('th', { 'class': 'th cbi-section-actions' }, [ '' ])
					])
				].concat(rows))
				: E('p', {}, [ E('em', {}, [ _('Camguard has not changed anything yet.') ]) ])
		]);
	},

	enforcing() {
		const sid = mainSection();

		return sid != null && uci.get('camguard', sid, 'enforce') == '1';
	},

	handleAudit() {
		return cg.audit().then(() => this.refresh()).catch(err => cg.errorModal(_('Audit'), err));
	},

	handleFix(f) {
		cg.confirmAndRun({
			title: _('Fix a finding'),
			body: [
				E('p', {}, [ E('strong', {}, [ f.title || f.id ]) ]),
				E('p', {}, [ _('Camguard will:') ]),
				cg.actionList(f.fix.actions),
				E('p', {}, [ _('The change is journaled; you can undo it afterwards.') ])
			],
			confirm: _('Fix it'),
			run: () => cg.enforce(false, f.id, f.subject),
			enforcing: this.enforcing(),
			done: () => this.refresh()
		});
	},

	handleUndo(id) {
		cg.confirmAndRun({
			title: _('Undo a change'),
			body: [
				E('p', {}, [ _('Put back everything journal entry %s changed?').format(id) ])
			],
			confirm: _('Undo'),
			run: () => cg.revert(id),
			reverting: true,
			enforcing: this.enforcing(),
			done: () => this.refresh()
		});

		return Promise.resolve();
	},

	/* Explain what the recommended policy does here, let the owner keep forwards, then apply. */
	handleRecommended() {
		return Promise.all([
			cg.read(cg.callForwards),
			cg.read(cg.callMappings),
			uci.changes()
		]).then(([ forwards, mappings, changes ]) => {
			const others = Object.keys(changes || {}).filter(c => c != 'camguard' && L.toArray(changes[c]).length);

			if (others.length) {
				cg.errorModal(_('Apply the recommended policy'),
					new Error(_('There are unsaved changes in: %s. Save & Apply or revert them first, so that they are not applied together with the policy.').format(others.join(', '))));
				return;
			}

			const toDisable = L.toArray(forwards).filter(f => f.enabled && !onAllowlist(f));
			const cameraMappings = L.toArray(mappings).filter(m => m.device && cg.isCameraLike(m.device['class']));
			const keep = {};

			const forwardItems = toDisable.map(f => {
				const toCamera = f.every_port || (f.device && cg.isCameraLike(f.device['class']));
				const label = [ E('strong', {}, [ cg.lan(f.name || f.section) ]), ' → ', cg.lan(f.device ? cg.deviceName(f.device) : (f.dest_ip || '?')) ];

				if (toCamera)
					return E('li', {}, label.concat([ ' ', E('em', {}, [ f.every_port ? _('(every port: will be disabled)') : _('(goes to a camera: will be disabled)') ]) ]));

				return E('li', {}, [
					E('label', {}, [
						E('input', {
							'type': 'checkbox',
							'change': ev => { keep[f.section] = ev.target.checked ? (f.name || f.section) : null; }
						}),
						' ', _('keep'), ' '
					].concat(label))
				]);
			});

			cg.confirmAndRun({
				title: _('Apply the recommended policy'),
				body: [
					E('p', {}, [ _('The recommended policy:') ]),
					E('ul', {}, [
						E('li', {}, [ _('UPnP restricted: secure mode on, only ports 1024-65535, and cameras may not open ports at all. (Switch UPnP off entirely under Settings if nothing needs it.)') ]),
						E('li', {}, [ _('Port forwards: only those on your allowlist stay enabled. Others are disabled, never deleted.') ]),
						E('li', {}, [ _('Cameras keep internet access, so their apps keep working; you can cut single cameras off under Devices.') ]),
						E('li', {}, [ _('Enforcement on: camguard keeps the router this way from now on.') ])
					]),
					E('p', {}, [ E('strong', {}, [ _('What changes now:') ]) ]),
					cameraMappings.length ? E('div', {}, [
						_('These UPnP mappings of cameras will be removed:'),
						E('ul', {}, cameraMappings.map(m => E('li', {}, [
							String(m.ext_port), '/', String(m.proto), ' → ', cg.lan(cg.deviceName(m.device)), ' ', cg.lan(m.description || '')
						])))
					]) : '',
					toDisable.length ? E('div', {}, [
						E('p', {}, [ _('These port forwards will be disabled (tick the ones you need; they go on the allowlist):') ]),
						E('ul', {}, forwardItems)
					]) : E('p', {}, [ _('No port forward will be disabled.') ]),
					E('p', {}, [ _('Everything is journaled: the result lets you undo it, which also puts your previous policy back.') ])
				],
				confirm: _('Apply the recommended policy'),
				run: () => this.applyRecommended(Object.keys(keep).map(k => keep[k]).filter(v => v)),
				undo: reply => this.undoRecommended(reply),
				done: () => this.refresh()
			});
		}).catch(err => cg.errorModal(_('Apply the recommended policy'), err));
	},

	/* Write the policy to /etc/config/camguard, apply it like LuCI's Save & Apply, then enforce. */
	applyRecommended(keepRedirects) {
		let sid = mainSection();
		const previous = { section: sid, values: {}, added: [] };

		if (sid == null) {
			sid = uci.add('camguard', 'camguard', 'main');
			previous.section = null;
		}

		Object.keys(RECOMMENDED).forEach(k => {
			previous.values[k] = uci.get('camguard', sid, k);
			uci.set('camguard', sid, k, RECOMMENDED[k]);
		});

		keepRedirects.forEach(name => {
			const asid = uci.add('camguard', 'allow_forward');

			uci.set('camguard', asid, 'redirect', name);
			previous.added.push(name);
		});

		return uci.save()
			.then(() => uci.apply())
			.then(() => this.reloadPolicy())
			.then(() => cg.enforce(false))
			.then(reply => {
				this.previousPolicy = previous;
				return reply;
			});
	},

	/* Read the applied policy back; the fresh uci-loaded event also resets LuCI's change counter. */
	reloadPolicy() {
		uci.unload('camguard');

		return uci.load('camguard');
	},

	/* Put the previous policy back first (so enforcement does not redo it), then revert. */
	undoRecommended(reply) {
		const previous = this.previousPolicy;

		return uci.load('camguard').then(() => {
			const sid = previous.section || mainSection();

			if (previous.section == null && sid != null) {
				uci.remove('camguard', sid);
			}
			else if (sid != null) {
				Object.keys(previous.values).forEach(k => uci.set('camguard', sid, k, previous.values[k]));
			}

			uci.sections('camguard', 'allow_forward').forEach(s => {
				const i = previous.added.indexOf(s.redirect);

				if (i > -1) {
					uci.remove('camguard', s['.name']);
					previous.added.splice(i, 1);
				}
			});

			return uci.save();
		}).then(() => uci.apply())
		.then(() => this.reloadPolicy())
		.then(() => reply.journal_id ? cg.revert(reply.journal_id) : { reverted: 0 });
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
