'use strict';
'require baseclass';
'require rpc';
'require ui';

/*
 * Shared by the camguard views: the ubus calls of docs/ubus-api.md, labels, and the
 * confirm -> apply -> "journal id + undo" dialogs.
 *
 * Strings that LAN devices chose (hostnames, UPnP descriptions, vendor names and every
 * title, detail or reason that quotes them) reach the DOM only as text: always as an
 * array child, E('td', {}, [ str ]), never E('td', {}, str), which LuCI assigns to
 * innerHTML. lan() below is the usual way.
 */

const callStatus = rpc.declare({
	object: 'camguard',
	method: 'status',
	expect: { '': {} }
});

const callFindings = rpc.declare({
	object: 'camguard',
	method: 'findings',
	expect: { findings: [] }
});

const callDevices = rpc.declare({
	object: 'camguard',
	method: 'devices',
	expect: { devices: [] }
});

const callMappings = rpc.declare({
	object: 'camguard',
	method: 'mappings',
	expect: { mappings: [] }
});

const callForwards = rpc.declare({
	object: 'camguard',
	method: 'forwards',
	expect: { forwards: [] }
});

const callJournal = rpc.declare({
	object: 'camguard',
	method: 'journal',
	expect: { entries: [] }
});

/* Write methods: no `expect`, so a failure arrives as the numeric ubus status. */
const callAudit = rpc.declare({
	object: 'camguard',
	method: 'audit'
});

const callEnforce = rpc.declare({
	object: 'camguard',
	method: 'enforce',
	params: [ 'dry_run', 'finding', 'subject' ]
});

const callRevoke = rpc.declare({
	object: 'camguard',
	method: 'revoke',
	params: [ 'proto', 'ext_port' ]
});

const callRevert = rpc.declare({
	object: 'camguard',
	method: 'revert',
	params: [ 'id' ]
});

const SEVERITIES = [ 'critical', 'high', 'medium', 'low', 'info' ];

const SEVERITY_COLORS = {
	critical: '#8b0000',
	high: '#c9302c',
	medium: '#d58512',
	low: '#31708f',
	info: '#777'
};

const CAMERA_CLASSES = [ 'camera', 'doorbell', 'baby_monitor', 'nvr' ];

/* Characters that reorder the text around them (e.g. "\u202egpj.exe" shows as "exe.jpg"). */
const BIDI_CONTROLS = new RegExp('[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]');

/* A reply of a write call: the object, or an Error naming the ubus status. */
function checkReply(method, reply) {
	if (L.isObject(reply))
		return reply;

	if (reply === 0 || reply == null)
		return {};

	throw new Error(_('camguard could not %s: %s').format(method, rpc.getStatusText(reply)));
}

return baseclass.extend({
	callStatus: callStatus,
	callFindings: callFindings,
	callDevices: callDevices,
	callMappings: callMappings,
	callForwards: callForwards,
	callJournal: callJournal,

	severities: SEVERITIES,

	/* Resolves with the reply of a read call, or null when camguard cannot be reached. */
	read(call) {
		return L.resolveDefault(call(), null);
	},

	audit() {
		return callAudit().then(reply => checkReply('audit', reply));
	},

	enforce(dryRun, findingId, subject) {
		/* Absent arguments must be left out, not sent as null. */
		return callEnforce(!!dryRun, findingId == null ? undefined : findingId, subject == null ? undefined : subject)
			.then(reply => checkReply('enforce', reply));
	},

	revoke(proto, extPort) {
		return callRevoke(String(proto), Number(extPort)).then(reply => checkReply('revoke', reply));
	},

	revert(id) {
		return callRevert(id).then(reply => checkReply('revert', reply));
	},

	severityLabel(severity) {
		switch (severity) {
		case 'critical': return _('Critical');
		case 'high': return _('High');
		case 'medium': return _('Medium');
		case 'low': return _('Low');
		case 'info': return _('Information');
		default: return String(severity);
		}
	},

	severityBadge(severity) {
		return E('span', {
			'class': 'label',
			'style': 'color:#fff;background-color:' + (SEVERITY_COLORS[severity] || '#777')
		}, [ this.severityLabel(severity) ]);
	},

	classLabel(cls) {
		switch (cls) {
		case 'camera': return _('Camera');
		case 'doorbell': return _('Video doorbell');
		case 'baby_monitor': return _('Baby monitor');
		case 'nvr': return _('NVR/DVR');
		case 'other': return _('Not a camera');
		case null:
		case undefined:
		case '': return _('Unknown');
		default: return String(cls);
		}
	},

	confidenceLabel(confidence) {
		switch (confidence) {
		case 'high': return _('high confidence');
		case 'medium': return _('medium confidence');
		case 'low': return _('low confidence');
		default: return '';
		}
	},

	isCameraLike(cls) {
		return CAMERA_CLASSES.indexOf(cls) > -1;
	},

	hasBidiControls(value) {
		return value != null && BIDI_CONTROLS.test(String(value));
	},

	bidiWarning() {
		return E('em', { 'class': 'cg-bidi-warning', 'style': 'color:#c9302c' }, [
			_('(contains invisible characters that reverse the text direction)')
		]);
	},

	/* A string a LAN device chose, as text in its own bidi isolate. */
	lan(value) {
		const text = (value == null) ? '' : String(value);
		const node = E('bdi', { 'class': 'cg-lan', 'style': 'overflow-wrap:anywhere' }, [ text ]);

		if (!this.hasBidiControls(text))
			return node;

		return E('span', {}, [ node, ' ', this.bidiWarning() ]);
	},

	/* The name a person knows a device by: a device record or a device summary. */
	deviceName(dev) {
		if (!dev)
			return _('Unknown device');

		const hostnames = L.toArray(dev.hostnames);
		const ips = L.toArray(dev.ips);

		return dev.hostname || hostnames[0] || dev.ip || ips[0] || dev.mac || _('Unknown device');
	},

	/* "name (Camera, Reolink)" with every LAN part as text. */
	deviceCell(dev, fallbackAddr) {
		if (!dev)
			return E('span', {}, [ this.lan(fallbackAddr || _('Unknown device')) ]);

		const kind = [ this.classLabel(dev['class']) ];

		if (dev.vendor)
			kind.push(', ', this.lan(dev.vendor));

		const cam = this.isCameraLike(dev['class']);

		return E('span', {}, [
			cam ? E('strong', {}, [ this.lan(this.deviceName(dev)) ]) : this.lan(this.deviceName(dev)),
			E('br'),
			E('small', {}, [ '(' ].concat(kind, [ ')' ]))
		]);
	},

	portRange(range) {
		if (!range)
			return _('every port');

		const text = (range.lo == range.hi) ? String(range.lo) : range.lo + '-' + range.hi;

		return range.negated ? _('all but %s').format(text) : text;
	},

	formatTime(unixTime) {
		if (!unixTime)
			return '';

		return new Date(unixTime * 1000).toLocaleString();
	},

	/* `expires` of a mapping: absolute Unix time, 0 = permanent, null = no lease line. */
	formatExpiry(expires, now) {
		if (expires == null)
			return _('unknown (no lease)');

		if (expires == 0)
			return _('never (permanent)');

		const left = expires - now;

		if (left <= 0)
			return _('expired');

		if (left >= 86400)
			return N_(Math.floor(left / 86400), 'in %d day', 'in %d days').format(Math.floor(left / 86400));

		if (left >= 3600)
			return N_(Math.floor(left / 3600), 'in %d hour', 'in %d hours').format(Math.floor(left / 3600));

		return N_(Math.ceil(left / 60), 'in %d minute', 'in %d minutes').format(Math.ceil(left / 60));
	},

	/* The list of `why`s of planned or applied actions. */
	actionList(actions) {
		actions = L.toArray(actions);

		if (!actions.length)
			return E('p', {}, [ E('em', {}, [ _('Nothing to change.') ]) ]);

		return E('ul', {}, actions.map(a => E('li', {}, [ a.why || a.kind || '?' ])));
	},

	notRunning() {
		return E('div', { 'class': 'alert-message warning' }, [
			E('h4', {}, [ _('camguard is not answering') ]),
			E('p', {}, [ _('The camguard service did not reply. Check that it is installed and running: /etc/init.d/camguard start') ])
		]);
	},

	errorModal(title, err) {
		ui.showModal(title, [
			E('p', {}, [ (err && err.message) ? err.message : String(err) ]),
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'btn', 'click': ui.hideModal }, [ _('Close') ])
			])
		]);
	},

	/*
	 * Ask first, then run. opts: title, body (nodes), confirm (button label),
	 * run() -> Promise of an enforce-like reply, done(reply) after the result was closed,
	 * undo(reply) -> Promise (default: revert of the journal entry), enforcing (bool: the
	 * policy will put the change back after an undo), reverting (bool: run() is a revert).
	 */
	confirmAndRun(opts) {
		const self = this;

		ui.showModal(opts.title, [
			E('div', {}, L.toArray(opts.body)),
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'btn', 'click': ui.hideModal }, [ _('Cancel') ]),
				' ',
				E('button', {
					'class': 'btn cbi-button-action important',
					'click': ui.createHandlerFn(self, function() {
						return opts.run().then(reply => {
							if (opts.reverting)
								self.showReverted(opts.title, reply, opts);
							else
								self.showResult(opts.title, reply, opts);
						}).catch(err => {
							self.errorModal(opts.title, err);
						});
					})
				}, [ opts.confirm || _('Apply') ])
			])
		]);
	},

	/* What an enforce/revoke reply did, with the journal id and an undo button. */
	showResult(title, reply, opts) {
		const self = this;
		const failed = L.toArray(reply.failed);
		const pending = L.toArray(reply.pending);
		const verified = L.toArray(reply.verified).filter(v => !v.ok);
		const body = [];

		if (reply.journal_id) {
			body.push(E('p', {}, [
				N_(reply.applied || 0, 'Applied %d change.', 'Applied %d changes.').format(reply.applied || 0), ' ',
				_('Journal entry:'), ' ', E('code', {}, [ reply.journal_id ])
			]));
		}
		else {
			body.push(E('p', {}, [ _('Nothing had to be changed: the router already matches.') ]));
		}

		body.push(self.actionList(reply.actions));

		if (failed.length)
			body.push(E('div', { 'class': 'alert-message error' }, [
				E('p', {}, [ _('These changes failed:') ]),
				E('ul', {}, failed.map(f => E('li', {}, [
					(f.action && f.action.why) || '?', ': ', f.error || ''
				])))
			]));

		if (verified.length)
			body.push(E('div', { 'class': 'alert-message warning' }, [
				E('p', {}, [ _('These checks did not pass afterwards:') ]),
				E('ul', {}, verified.map(v => E('li', {}, [ v.check || '?', ': ', v.detail || '' ])))
			]));

		if (pending.length)
			body.push(E('p', { 'class': 'alert-message notice' }, [
				_('Some changes wait until the pending LuCI apply is confirmed; camguard retries them then.')
			]));

		const buttons = [
			E('button', {
				'class': 'btn',
				'click': function() {
					ui.hideModal();
					if (opts && opts.done)
						opts.done(reply);
				}
			}, [ _('Close') ])
		];

		if (reply.journal_id)
			buttons.unshift(E('button', {
				'class': 'btn cbi-button-negative',
				'click': ui.createHandlerFn(self, function() {
					const undo = (opts && opts.undo) ? opts.undo(reply) : self.revert(reply.journal_id);

					return Promise.resolve(undo).then(res => {
						self.showReverted(title, res, opts);
					}).catch(err => {
						self.errorModal(title, err);
					});
				})
			}, [ _('Undo') ]), ' ');

		ui.showModal(title, body.concat([ E('div', { 'class': 'right' }, buttons) ]));
	},

	showReverted(title, reply, opts) {
		const failed = L.toArray(reply && reply.failed);
		const body = [
			E('p', {}, [
				N_((reply && reply.reverted) || 0, 'Undid %d change.', 'Undid %d changes.').format((reply && reply.reverted) || 0)
			])
		];

		if (failed.length)
			body.push(E('div', { 'class': 'alert-message error' }, [
				E('p', {}, [ _('These could not be undone:') ]),
				E('ul', {}, failed.map(f => E('li', {}, [ (f.action && f.action.why) || f.error || '?' ])))
			]));

		if (opts && opts.enforcing)
			body.push(E('p', { 'class': 'alert-message warning' }, [
				_('Enforcement is on: camguard will make this change again at its next audit unless you change the policy under Settings.')
			]));

		body.push(E('div', { 'class': 'right' }, [
			E('button', {
				'class': 'btn',
				'click': function() {
					ui.hideModal();
					if (opts && opts.done)
						opts.done(reply);
				}
			}, [ _('Close') ])
		]));

		ui.showModal(title, body);
	}
});
