'use strict';
'require view';
'require dom';
'require ui';
'require uci';
'require camguard.common as cg';

/*
 * Per-device overrides live in /etc/config/camguard as
 *   config device
 *     option mac '00:11:22:33:44:55'
 *     option class 'camera'      (camera | doorbell | baby_monitor | nvr | other; absent: automatic)
 *     option internet 'block'    (absent: allow)
 *     option upnp 'deny'         (absent: allow)
 * The toggles only stage changes in LuCI's uci cache on Save; Save & Apply commits them as on
 * any LuCI page. A section left with nothing but its mac is removed.
 */

const CLASSES = [ 'camera', 'doorbell', 'baby_monitor', 'nvr', 'other' ];

function normMac(mac) {
	return String(mac || '').toLowerCase();
}

function sectionFor(mac) {
	return uci.sections('camguard', 'device').find(s => normMac(s.mac) == normMac(mac));
}

return view.extend({
	load() {
		return Promise.all([
			cg.read(cg.callDevices),
			uci.load('camguard')
		]);
	},

	render([ devices ]) {
		this.devices = devices;
		this.root = E('div', {});
		this.fill();

		return this.root;
	},

	fill() {
		const body = [
			E('h2', {}, [ _('Devices') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('The devices camguard has seen on your network, what it takes them for, and why. Cameras are recognised from the maker of their network card, their name and the ports they use; correct it under "Treat as" when it is wrong.'),
				' ',
				_('"Block internet" and "Deny UPnP" take effect when camguard enforces the policy: at once when enforcement is on, otherwise with the Fix buttons on the Overview page.')
			])
		];

		if (this.devices == null) {
			body.push(cg.notRunning());
			dom.content(this.root, body);
			return;
		}

		const seen = {};
		const rows = this.devices.map(d => {
			if (d.mac)
				seen[normMac(d.mac)] = true;

			return this.renderRow(d);
		});

		/* Overrides for devices camguard does not see right now stay editable. */
		uci.sections('camguard', 'device').forEach(s => {
			if (s.mac && !seen[normMac(s.mac)]) {
				seen[normMac(s.mac)] = true;
				rows.push(this.renderRow({ mac: s.mac, ips: [], hostnames: [], seen_in: [], reasons: [], absent: true }));
			}
		});

		body.push(E('div', { 'class': 'cbi-section', 'style': 'overflow-x:auto' }, [
			rows.length ? E('table', { 'class': 'table', 'id': 'cg-devices' }, [
				E('tr', { 'class': 'tr table-titles' }, [
					E('th', { 'class': 'th' }, [ _('Device') ]),
					E('th', { 'class': 'th' }, [ _('Kind') ]),
					E('th', { 'class': 'th' }, [ _('Why') ]),
					E('th', { 'class': 'th' }, [ _('Treat as') ]),
					E('th', { 'class': 'th' }, [ _('Block internet') ]),
					E('th', { 'class': 'th' }, [ _('Deny UPnP') ])
				])
			].concat(rows)) : E('p', {}, [ E('em', {}, [ _('No devices seen yet.') ]) ])
		]));

		dom.content(this.root, body);
	},

	renderRow(d) {
		const s = d.mac ? sectionFor(d.mac) : null;
		const disabled = d.mac ? null : '';
		const names = L.toArray(d.hostnames);
		const cls = s ? s['class'] : null;

		const classSelect = E('select', { 'class': 'cbi-input-select', 'style': 'min-width:9em', 'data-option': 'class', 'disabled': disabled }, [
			E('option', { 'value': '' }, [ _('automatic') ])
		].concat(CLASSES.map(c => E('option', { 'value': c, 'selected': (cls == c) ? '' : null }, [ cg.classLabel(c) ]))));

		return E('tr', { 'class': 'tr', 'data-mac': d.mac ? normMac(d.mac) : null }, [
			E('td', { 'class': 'td', 'data-title': _('Device'), 'style': 'min-width:10em' }, [
				E('strong', {}, [ cg.lan(names[0] || (d.absent ? _('(not seen now)') : _('(no name)'))) ]),
				E('br'),
				E('small', {}, this.addresses(d, names.slice(1)))
			]),
			E('td', { 'class': 'td', 'data-title': _('Kind') }, d.absent ? [ '' ] : [
				cg.isCameraLike(d['class']) ? E('strong', {}, [ cg.classLabel(d['class']) ]) : cg.classLabel(d['class']),
				E('br'),
				E('small', {}, [ cg.confidenceLabel(d.confidence) ]),
				d.vendor ? E('br') : '',
				d.vendor ? cg.lan(d.vendor) : ''
			]),
			E('td', { 'class': 'td', 'data-title': _('Why') }, [
				L.toArray(d.reasons).length ? E('ul', { 'style': 'margin:0;max-height:12em;overflow:auto' },
					L.toArray(d.reasons).map(r => E('li', {}, [ cg.lan(r) ]))) : '',
				L.toArray(d.seen_in).length ? E('small', {}, [ _('Seen in:'), ' ', L.toArray(d.seen_in).join(', ') ]) : ''
			]),
			E('td', { 'class': 'td', 'data-title': _('Treat as') }, [ classSelect ]),
			E('td', { 'class': 'td', 'data-title': _('Block internet') }, [
				E('input', {
					'type': 'checkbox', 'data-option': 'internet', 'disabled': disabled,
					'checked': (s && s.internet == 'block') ? '' : null
				})
			]),
			E('td', { 'class': 'td', 'data-title': _('Deny UPnP') }, [
				E('input', {
					'type': 'checkbox', 'data-option': 'upnp', 'disabled': disabled,
					'checked': (s && s.upnp == 'deny') ? '' : null
				})
			])
		]);
	},

	/* Other names, IP and MAC addresses: "cam-2, 192.168.1.64 ec:71:db:3a:5e:10". */
	addresses(d, otherNames) {
		const parts = [];

		otherNames.forEach(n => parts.push(cg.lan(n), ', '));
		parts.push(L.toArray(d.ips).join(', '), ' ');
		parts.push(d.mac ? d.mac : _('(no MAC address known)'));

		return parts;
	},

	/* Stage what the rows show as `config device` sections, then save like any LuCI form. */
	handleSave() {
		this.root.querySelectorAll('tr[data-mac]').forEach(tr => {
			const mac = tr.getAttribute('data-mac');
			const want = {
				'class': tr.querySelector('[data-option="class"]').value || null,
				internet: tr.querySelector('[data-option="internet"]').checked ? 'block' : null,
				upnp: tr.querySelector('[data-option="upnp"]').checked ? 'deny' : null
			};
			const empty = !want['class'] && !want.internet && !want.upnp;
			let s = sectionFor(mac);

			if (!s && empty)
				return;

			const sid = s ? s['.name'] : uci.add('camguard', 'device');

			if (!s)
				uci.set('camguard', sid, 'mac', mac);

			Object.keys(want).forEach(k => {
				if ((uci.get('camguard', sid, k) || null) != want[k])
					uci.set('camguard', sid, k, want[k]);
			});

			s = uci.get('camguard', sid);

			const rest = Object.keys(s).filter(k => k.charAt(0) != '.' && k != 'mac');

			if (!rest.length)
				uci.remove('camguard', sid);
		});

		return uci.save().then(() => this.fill());
	},

	handleReset() {
		this.fill();

		return Promise.resolve();
	}
});
