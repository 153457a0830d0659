'use strict';
'require view';
'require dom';
'require poll';
'require ui';
'require uci';
'require camguard.common as cg';
'require camguard.exposuremap as xmap';

/*
 * The recommended policy ("apply the recommended policy" on this page; cg.recommended):
 *  - enforce 1: camguard keeps the router this way and undoes changes that break the policy;
 *  - upnp 'restricted': games consoles and media servers keep UPnP, but secure mode is on,
 *    only ports 1024-65535 may be mapped and cameras (and devices set to "deny") may map
 *    nothing; their live mappings are removed. NCSC advises UPnP off; 'restricted' is the
 *    step that protects cameras without breaking every console at once, and Settings offers 'off';
 *  - forwards 'allowlist': port forwards not on the allowlist are disabled (never deleted);
 *    the dialog lets the owner keep forwards that do not go to a camera;
 *  - camera_internet 'allow': many cameras need their cloud for the vendor's app, so
 *    cutting them off is a per-device choice on the Devices page.
 * A stricter choice the owner already made (UPnP off, forwards off, cameras blocked) stays.
 */

/* Seconds between looks at the daemon: a new audit or journal entry redraws the page. */
const POLL_INTERVAL = 5;

/* Whether a redirect is kept under 'allowlist': by section name or by its name. */
function onAllowlist(fwd) {
	return uci.sections('camguard', 'allow_forward').some(s => cg.allowEntryKeeps(s, fwd));
}

/* Subjects are equal field for field (the daemon's rule for `enforce {subject}`). */
function sameSubject(a, b) {
	if (!a || !b)
		return false;

	const keys = Object.keys(a).sort();

	return keys.join(' ') == Object.keys(b).sort().join(' ') && keys.every(k => JSON.stringify(a[k]) == JSON.stringify(b[k]));
}

function fixActions(f) {
	return (f && f.fix && Array.isArray(f.fix.actions)) ? f.fix.actions : [];
}

/* What the page changed last: the signature of a status and a journal, to redraw only on change. */
function signature(status, journal) {
	return JSON.stringify([
		status ? status.time : null,
		status ? status.counts : null,
		L.toArray(journal).map(e => [ e.id, e.state, e.reverted ])
	]);
}

return view.extend({
	load() {
		return Promise.all([
			cg.read(cg.callStatus),
			cg.read(cg.callJournal),
			cg.read(cg.callMappings),
			cg.read(cg.callForwards),
			uci.load('camguard')
		]);
	},

	render(data) {
		this.root = E('div', {});
		this.fill(data);

		poll.add(L.bind(this.follow, this), POLL_INTERVAL);

		return this.root;
	},

	/* Unloading makes uci.load() fetch again, which also updates LuCI's change counter. */
	refresh() {
		uci.unload('camguard');
		return this.load().then(data => this.fill(data));
	},

	/* Follows the daemon: redraws when it audited again or its journal changed. */
	follow() {
		return Promise.all([ cg.read(cg.callStatus), cg.read(cg.callJournal) ]).then(([ status, journal ]) => {
			if (signature(status, journal) != this.shown)
				return this.refresh();
		});
	},

	fill([ status, journal, mappings, forwards ]) {
		this.shown = signature(status, journal);
		this.findings = L.toArray(status && status.findings);

		const body = [
			E('h2', {}, [ _('Camguard') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('Camguard checks your router against the UK NCSC advice for smart cameras: no UPnP and no port forwards that expose cameras to the internet. It explains what it finds and can fix it for you; every change it makes is journaled and can be undone.')
			])
		];

		if (!cg.canWrite())
			body.push(cg.readOnlyNotice());

		if (!status || !status.counts) {
			body.push(cg.notRunning());
			dom.content(this.root, body);
			return;
		}

		const coverage = status.coverage;
		const complete = !(coverage && coverage.complete === false);

		body.push(this.renderSummary(status, complete));

		if (!complete)
			body.push(this.renderCoverage(coverage));

		body.push(this.renderPicture(status, mappings, forwards, complete));
		body.push(this.renderPolicy());
		body.push(this.renderFindings(this.findings, complete));

		if (L.toArray(status.problems).length)
			body.push(this.renderProblems(status.problems));

		body.push(this.renderJournal(L.toArray(journal)));

		dom.content(this.root, body);
	},

	renderSummary(status, complete) {
		const router = status.router || {};
		const score = +status.score || 0;
		const color = !complete ? '#777' : (score >= 80) ? '#3c763d' : (score >= 50) ? '#d58512' : '#c9302c';

		/* spaces between the counts: a phone may break the line there */
		const counts = [].concat.apply([], cg.severities.map(sev => [ E('span', { 'style': 'margin-right:1em;white-space:nowrap' }, [
			cg.severityBadge(sev), ' ', String(+status.counts[sev] || 0)
		]), ' ' ]));

		return E('div', { 'class': 'cbi-section cg-summary' }, [
			E('div', { 'style': 'display:flex;flex-wrap:wrap;align-items:center;gap:1.5em' }, [
				E('div', { 'class': 'cg-score', 'style': 'font-size:300%;font-weight:bold;color:' + color }, [
					String(score), E('small', { 'style': 'font-size:40%' }, [ ' / 100' ]),
					complete ? '' : E('div', { 'style': 'font-size:30%;font-weight:normal' }, [ _('incomplete audit') ])
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
					cg.writeButton(_('Audit now'), 'cbi-button-action', ui.createHandlerFn(this, 'handleAudit'))
				])
			])
		]);
	},

	/* What the audit could not read: the score and the picture may miss what is there. */
	renderCoverage(coverage) {
		/* absent is normal (no miniupnpd, no leases yet): only what is missing from the audit */
		const sources = L.toArray(coverage.sources).filter(s => s && (s.state == 'unreadable' || s.state == 'truncated'));

		return E('div', { 'class': 'alert-message warning cg-coverage' }, [
			E('h4', {}, [ _('This audit is incomplete') ]),
			E('p', {}, [ _('Camguard could not read everything it needs, so the score, the findings and the picture may miss exposures. What it could not read:') ]),
			E('ul', {}, sources.map(s => E('li', { 'style': 'overflow-wrap:anywhere' }, [
				E('strong', {}, [ s.what || '?' ]),
				s.path ? ' (' : '', s.path ? E('code', {}, [ s.path ]) : '', s.path ? ')' : '',
				': ', this.coverageState(s.state),
				s.detail ? ' — ' : '', s.detail || ''
			])))
		]);
	},

	coverageState(state) {
		switch (state) {
		case 'absent': return _('not there');
		case 'unreadable': return _('could not be read');
		case 'truncated': return _('only partly read');
		case 'stale': return _('out of date');
		case 'unsupported': return _('not audited');
		default: return String(state || '?');
		}
	},

	/* At a glance: what the internet can reach, each line a way in. */
	renderPicture(status, mappings, forwards, complete) {
		const paths = xmap.paths(mappings, forwards, this.findings);
		const exposure = L.url('admin/services/camguard/exposure');

		return E('div', { 'class': 'cbi-section' }, [
			E('h3', {}, [ _('What the internet can reach') ]),
			xmap.render(paths, {
				routerName: status.router ? status.router.hostname : null,
				complete: complete,
				onSelect: edge => { window.location.href = exposure + '#' + edge.row; }
			})
		]);
	},

	renderPolicy() {
		const policy = cg.effectivePolicy();
		const recommended = cg.isRecommended(policy);

		return E('div', { 'class': 'cbi-section' }, [
			E('h3', {}, [ _('Policy') ]),
			E('p', {}, [
				(policy.enforce == '1')
					? _('Enforcement is on: camguard keeps the router in line with your policy.')
					: _('Audit only: camguard reports what it finds and changes nothing unless you press a button on this page.')
			]),
			recommended
				? E('p', { 'class': 'cg-recommended' }, [ E('em', {}, [ _('You use the recommended policy (or a stricter one).') ]) ])
				: E('p', {}, [
					cg.writeButton(_('Apply the recommended policy…'), 'cbi-button-positive important',
						ui.createHandlerFn(this, 'handleRecommended'))
				])
		]);
	},

	renderFindings(findings, complete) {
		const groups = cg.severities.map(sev => {
			const list = findings.filter(f => f.severity == sev);

			if (!list.length)
				return null;

			const cards = E('div', {}, list.map(f => this.renderFinding(f)));

			return E('div', { 'class': 'cbi-section' }, [
				E('h3', {}, [ cg.severityBadge(sev), ' ', N_(list.length, '%d finding', '%d findings').format(list.length) ]),
				(sev == 'info') ? E('details', {}, [ E('summary', {}, [ _('Show') ]), cards ]) : cards
			]);
		}).filter(g => g != null);

		if (!groups.length)
			return E('div', { 'class': 'cbi-section' }, [
				E('p', {}, [ E('em', {}, [
					complete
						? _('No findings: nothing on this router exposes your cameras.')
						: _('No findings in what camguard could read. The audit was incomplete, so this is not a clean bill of health.')
				]) ])
			]);

		return E('div', {}, groups);
	},

	/* The fix of a finding, or of another finding about the same thing (one exposure, one fix). */
	fixOf(f) {
		if (fixActions(f).length)
			return { finding: f.id, subject: f.subject, actions: fixActions(f) };

		const other = this.findings.find(o => o !== f && fixActions(o).length && sameSubject(o.subject, f.subject));

		return other ? { finding: other.id, subject: other.subject, actions: fixActions(other) } : null;
	},

	renderFinding(f) {
		const fix = this.fixOf(f);
		const path = cg.luciPath(f);
		/* titles and details quote LAN strings; a direction override in one reorders the rest */
		const bidi = cg.hasBidiControls(f.title) || cg.hasBidiControls(f.detail);

		return E('div', {
			'class': 'cg-finding', 'data-id': f.id,
			'style': 'border-left:4px solid ' + cg.severityColor(f.severity) + ';padding:0 0 0 .8em;margin:0 0 1.2em 0;overflow-wrap:anywhere'
		}, [
			E('div', { 'style': 'display:flex;flex-wrap:wrap;gap:.5em;align-items:baseline;justify-content:space-between' }, [
				E('p', { 'style': 'margin:0 0 .3em 0;flex:1 1 16em' }, [
					E('strong', {}, [ f.title || f.id ]), bidi ? ' ' : '', bidi ? cg.bidiWarning() : ''
				]),
				fix ? cg.writeButton(_('Fix this…'), 'cbi-button-action', ui.createHandlerFn(this, 'handleFix', f, fix)) : ''
			]),
			E('details', {}, [
				E('summary', {}, [ _('Why, and what to do') ]),
				E('p', { 'style': 'margin-bottom:.3em' }, [ f.detail || '' ]),
				E('p', { 'class': 'cg-remedy', 'style': 'margin-bottom:.3em' }, [ E('em', {}, [ _('What to do:') ]), ' ' ].concat(cg.remedyText(f.remedy))),
				path ? E('p', { 'class': 'cg-luci-path', 'style': 'margin-bottom:.3em' }, [
					E('em', {}, [ _('In LuCI:') ]), ' ', E('a', { 'href': path.url }, [ path.label ])
				]) : ''
			])
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
		const rows = entries.slice(0, 10).map(e => {
			const n = cg.changeCount(e);
			const failed = cg.failedActions(e);
			const notes = L.toArray(e.notes);
			const undone = e.reverted || e.state == 'reverted';

			return E('tr', { 'class': 'tr', 'data-entry': e.id }, [
				E('td', { 'class': 'td', 'data-title': _('Time') }, [ cg.formatTime(e.time) ]),
				E('td', { 'class': 'td', 'data-title': _('Changes'), 'style': 'overflow-wrap:anywhere' }, [
					E('details', {}, [
						E('summary', {}, [
							e.reason || '', ': ', N_(n, '%d change', '%d changes').format(n),
							failed.length ? ', ' + N_(failed.length, '%d failed', '%d failed').format(failed.length) : ''
						]),
						cg.actionList(cg.appliedActions(e)),
						failed.length ? E('div', { 'class': 'alert-message error cg-journal-failed' }, [
							E('p', {}, [ _('These could not be made:') ]),
							E('ul', {}, failed.map(f => E('li', {}, [ cg.failureText(f) ])))
						]) : '',
						(undone && notes.length) ? E('div', { 'class': 'alert-message notice cg-revert-notes' }, [
							E('p', {}, [ _('Undone, but not everything came back byte for byte:') ]),
							E('ul', {}, notes.map(t => E('li', {}, [ String(t) ])))
						]) : '',
						E('small', {}, [ _('Journal entry'), ' ', E('code', {}, [ e.id ]) ])
					])
				]),
				E('td', { 'class': 'td cbi-section-actions' }, [
					undone
						? E('em', {}, [ notes.length ? _('undone, not byte for byte') : _('undone') ])
						: cg.writeButton(_('Undo'), 'cbi-button-negative', ui.createHandlerFn(this, 'handleUndo', e))
				])
			]);
		});

		return E('div', { 'class': 'cbi-section' }, [
			E('h3', {}, [ _('Recent changes') ]),
			rows.length
				? E('table', { 'class': 'table cg-journal' }, [
					E('tr', { 'class': 'tr table-titles' }, [
						E('th', { 'class': 'th' }, [ _('Time') ]),
						E('th', { 'class': 'th' }, [ _('Changes') ]),
						E('th', { 'class': 'th cbi-section-actions' }, [ '' ])
					])
				].concat(rows))
				: E('p', {}, [ E('em', {}, [ _('Camguard has not changed anything yet.') ]) ])
		]);
	},

	enforcing() {
		return cg.effectivePolicy().enforce == '1';
	},

	handleAudit() {
		return cg.audit().then(() => this.refresh()).catch(err => cg.notifyError(_('Audit'), err));
	},

	handleFix(f, fix) {
		cg.confirmAndRun({
			title: _('Fix a finding'),
			body: [
				E('p', {}, [ E('strong', {}, [ f.title || f.id ]) ]),
				E('p', {}, [ _('Camguard will:') ]),
				cg.actionList(fix.actions),
				E('p', {}, [ _('The change is journaled; you can undo it afterwards.') ])
			],
			confirm: _('Fix it'),
			run: () => cg.enforce(false, fix.finding, fix.subject),
			enforcing: this.enforcing(),
			done: () => this.refresh()
		});

		return Promise.resolve();
	},

	handleUndo(entry) {
		cg.confirmUndo(_('Undo a change'), entry, {
			enforcing: this.enforcing(),
			done: () => this.refresh()
		});

		return Promise.resolve();
	},

	/* Explain what the recommended policy does here, let the owner keep forwards, then apply. */
	handleRecommended() {
		const title = _('Apply the recommended policy');

		return Promise.all([
			cg.read(cg.callForwards),
			cg.read(cg.callMappings),
			uci.changes()
		]).then(([ forwards, mappings, changes ]) => {
			const others = Object.keys(changes || {}).filter(c => c != 'camguard' && L.toArray(changes[c]).length);

			if (others.length) {
				ui.addNotification(null, E('p', {}, [
					E('strong', {}, [ title ]), ': ',
					_('There are unsaved changes in: %s. Save & Apply or revert them first, so that they are not applied together with the policy.').format(others.join(', '))
				]), 'warning');
				return;
			}

			const policy = cg.effectivePolicy();
			const wanted = cg.recommendedChanges(policy);
			const forwardsAfter = wanted.forwards || policy.forwards;
			const toDisable = L.toArray(forwards).filter(f => f.enabled && (forwardsAfter == 'off' || !onAllowlist(f)));
			const cameraMappings = L.toArray(mappings).filter(m => m.device && cg.isCameraLike(m.device['class']));
			const keep = {};

			const forwardItems = toDisable.map(f => {
				const toCamera = f.every_port || (f.device && cg.isCameraLike(f.device['class']));
				const label = [ E('strong', {}, [ cg.lan(f.name || f.section) ]), ' → ', cg.lan(f.device ? cg.deviceName(f.device) : (f.dest_ip || '?')) ];

				if (toCamera || forwardsAfter == 'off')
					return E('li', {}, label.concat([ ' ', E('em', {}, [
						f.every_port ? _('(every port: will be disabled)') : toCamera ? _('(goes to a camera: will be disabled)') : _('(will be disabled)')
					]) ]));

				return E('li', {}, [
					E('label', {}, [
						E('input', {
							'type': 'checkbox',
							'change': ev => { keep[f.section] = ev.target.checked ? cg.allowEntry(f) : null; }
						}),
						' ', _('keep'), ' '
					].concat(label))
				]);
			});

			cg.confirmAndRun({
				title: title,
				body: [
					E('p', {}, [ _('The recommended policy:') ]),
					E('ul', {}, [
						(policy.upnp == 'off')
							? E('li', {}, [ _('UPnP stays off.') ])
							: E('li', {}, [ _('UPnP restricted: secure mode on, only ports 1024-65535, and cameras may not open ports at all. (Switch UPnP off entirely under Settings if nothing needs it.)') ]),
						(policy.forwards == 'off')
							? E('li', {}, [ _('Port forwards stay off.') ])
							: E('li', {}, [ _('Port forwards: only those on your allowlist stay enabled. Others are disabled, never deleted.') ]),
						(policy.camera_internet == 'block')
							? E('li', {}, [ _('Cameras stay cut off from the internet.') ])
							: E('li', {}, [ _('Cameras keep internet access, so their apps keep working; you can cut single cameras off under Devices.') ]),
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
					E('p', {}, [ _('Everything is journaled: the result lists every change, including those camguard makes by itself once enforcement is on, and one Undo puts all of it and your previous policy back.') ])
				],
				confirm: title,
				run: () => this.applyRecommended(wanted, Object.keys(keep).map(k => keep[k]).filter(v => v)),
				undo: group => this.undoRecommended(group),
				done: () => this.refresh()
			});
		}).catch(err => cg.notifyError(title, err));
	},

	/* Write the policy to /etc/config/camguard, apply it like LuCI's Save & Apply, then enforce. */
	applyRecommended(wanted, keepRedirects) {
		let sid = cg.mainSection();
		const previous = { section: sid, values: {}, added: [] };

		if (sid == null) {
			sid = uci.add('camguard', 'camguard', 'main');
			previous.section = null;
		}

		Object.keys(wanted).forEach(k => {
			previous.values[k] = uci.get('camguard', sid, k);
			uci.set('camguard', sid, k, wanted[k]);
		});

		keepRedirects.forEach(entry => {
			const asid = uci.add('camguard', 'allow_forward');

			Object.keys(entry).forEach(opt => uci.set('camguard', asid, opt, entry[opt]));
			previous.added.push(cg.describeAllowEntry(entry));
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

	/* Put the previous policy back first (so enforcement does not redo it), then revert the group. */
	undoRecommended(group) {
		const previous = this.previousPolicy;

		return uci.load('camguard').then(() => {
			const sid = previous.section || cg.mainSection();

			if (previous.section == null && sid != null) {
				uci.remove('camguard', sid);
			}
			else if (sid != null) {
				Object.keys(previous.values).forEach(k => uci.set('camguard', sid, k, previous.values[k]));
			}

			uci.sections('camguard', 'allow_forward').forEach(s => {
				const i = previous.added.indexOf(cg.describeAllowEntry(s));

				if (i > -1) {
					uci.remove('camguard', s['.name']);
					previous.added.splice(i, 1);
				}
			});

			return uci.save();
		}).then(() => uci.apply())
		.then(() => this.reloadPolicy())
		.then(() => cg.revertGroup(group.entries));
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
