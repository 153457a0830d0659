'use strict';
'require view';
'require form';
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
 * The rows are the devices camguard sees, not those sections, so the grid is a form.JSONMap
 * over one row per device (plus overrides for devices not seen now); Save turns the rows into
 * `config device` sections in LuCI's uci cache, and Save & Apply commits them as on any LuCI
 * page. A section left with nothing but its mac is removed.
 */

const CLASSES = [ 'camera', 'doorbell', 'baby_monitor', 'nvr', 'other' ];

function normMac(mac) {
	return String(mac || '').toLowerCase();
}

function sectionFor(mac) {
	return uci.sections('camguard', 'device').find(s => normMac(s.mac) == normMac(mac));
}

/* A device without a MAC address cannot have a `config device` section: its row stays fixed. */
function withoutMacLocked(widgetClass) {
	return widgetClass.extend({
		renderWidget(sectionId, optionIndex, cfgvalue) {
			const node = this.super('renderWidget', [ sectionId, optionIndex, cfgvalue ]);
			const row = this.map.data.get('json', sectionId);

			if (row && !row.mac)
				(node.matches('input, select') ? [ node ] : Array.from(node.querySelectorAll('input, select')))
					.forEach(el => { el.disabled = true; });

			return node;
		}
	});
}

return view.extend({
	load() {
		return Promise.all([
			cg.read(cg.callDevices),
			uci.load('camguard')
		]);
	},

	/* One row per device: what camguard sees, and the owner's override for it. */
	rows(devices) {
		const seen = {};
		const rows = devices.map(d => {
			if (d.mac)
				seen[normMac(d.mac)] = true;

			return this.row(d);
		});

		/* Overrides for devices camguard does not see right now stay editable. */
		uci.sections('camguard', 'device').forEach(s => {
			if (s.mac && !seen[normMac(s.mac)]) {
				seen[normMac(s.mac)] = true;
				rows.push(this.row({ mac: s.mac, ips: [], hostnames: [], seen_in: [], reasons: [], absent: true }));
			}
		});

		return rows;
	},

	row(d) {
		const s = d.mac ? sectionFor(d.mac) : null;

		return {
			device: d,
			mac: d.mac ? normMac(d.mac) : null,
			'class': (s && s['class']) || '',
			internet: (s && s.internet == 'block') ? 'block' : 'allow',
			upnp: (s && s.upnp == 'deny') ? 'deny' : 'allow'
		};
	},

	render([ devices ]) {
		const intro = [
			_('The devices camguard has seen on your network, what it takes them for, and why. Cameras are recognised from the maker of their network card, their name and the ports they use; correct it under "Treat as" when it is wrong.'),
			' ',
			_('"Block internet" and "Deny UPnP" take effect when camguard enforces the policy: at once when enforcement is on, otherwise with the Fix buttons on the Overview page.')
		];

		if (devices == null) {
			this.handleSave = this.handleSaveApply = this.handleReset = null;

			return E('div', {}, [
				E('h2', {}, [ _('Devices') ]),
				E('div', { 'class': 'cbi-map-descr' }, intro),
				cg.notRunning()
			]);
		}

		let o;
		const data = { device: this.rows(devices) };
		const m = new form.JSONMap(data, _('Devices'), E('span', {}, intro));

		/* A JSONMap does not ask rpcd itself; the page's ACL decides. */
		m.readonly = !cg.canWrite();
		this.map = m;
		this.data = data;

		const s = m.section(form.GridSection, 'device');
		s.anonymous = true;
		s.addremove = false;
		s.sortable = false;
		s.nodescriptions = true;
		/* every option is in the row itself: no "Edit" dialog per row */
		s.renderRowActions = () => E([]);

		const rowOf = sid => m.data.get('json', sid) || {};

		o = s.option(form.DummyValue, '_device', _('Device'));
		o.textvalue = sid => this.deviceCell(rowOf(sid).device);

		o = s.option(form.DummyValue, '_kind', _('Kind'));
		o.textvalue = sid => this.kindCell(rowOf(sid).device);

		o = s.option(form.DummyValue, '_why', _('Why'));
		o.textvalue = sid => this.whyCell(rowOf(sid).device);

		o = s.option(withoutMacLocked(form.ListValue), 'class', _('Treat as'));
		o.editable = true;
		o.value('', _('automatic'));
		CLASSES.forEach(c => o.value(c, cg.classLabel(c)));

		o = s.option(withoutMacLocked(form.Flag), 'internet', _('Block internet'));
		o.editable = true;
		o.enabled = 'block';
		o.disabled = 'allow';
		o.default = 'allow';

		o = s.option(withoutMacLocked(form.Flag), 'upnp', _('Deny UPnP'));
		o.editable = true;
		o.enabled = 'deny';
		o.disabled = 'allow';
		o.default = 'allow';

		return m.render().then(node => E('div', { 'id': 'cg-devices' }, [
			cg.canWrite() ? '' : cg.readOnlyNotice(),
			node
		]));
	},

	deviceCell(d) {
		const names = L.toArray(d && d.hostnames);

		return E('div', { 'style': 'min-width:10em' }, [
			E('strong', {}, [ cg.lan(names[0] || (d.absent ? _('(not seen now)') : _('(no name)'))) ]),
			E('br'),
			E('small', {}, this.addresses(d, names.slice(1)))
		]);
	},

	kindCell(d) {
		if (!d || d.absent)
			return E('span', {}, [ '' ]);

		return E('span', {}, [
			cg.isCameraLike(d['class']) ? E('strong', {}, [ cg.classLabel(d['class']) ]) : cg.classLabel(d['class']),
			E('br'),
			E('small', {}, [ cg.confidenceLabel(d.confidence) ]),
			d.vendor ? E('br') : '',
			d.vendor ? cg.lan(d.vendor) : '',
			/* what the device said about itself in a discovery reply (SADP, Dahua, WS-Discovery, SSDP);
			   the maker only when it is not the vendor shown above */
			d.info && d.info.manufacturer && String(d.info.manufacturer).toLowerCase() != String(d.vendor || '').toLowerCase() ? E('br') : '',
			d.info && d.info.manufacturer && String(d.info.manufacturer).toLowerCase() != String(d.vendor || '').toLowerCase()
				? E('span', { 'title': String(d.info.protocol || '') }, [ cg.lan(d.info.manufacturer) ]) : '',
			d.info && d.info.model ? E('br') : '',
			d.info && d.info.model ? E('span', { 'title': String(d.info.protocol || '') }, [ cg.lan(d.info.model) ]) : '',
			d.info && d.info.firmware ? E('br') : '',
			d.info && d.info.firmware ? E('small', { 'title': String(d.info.protocol || '') }, [
				_('Firmware'), ' ', cg.lan(d.info.firmware)
			]) : ''
		]);
	},

	whyCell(d) {
		return E('div', {}, [
			L.toArray(d.reasons).length ? E('ul', { 'style': 'margin:0;max-height:12em;overflow:auto' },
				L.toArray(d.reasons).map(r => E('li', {}, [ cg.lan(r) ]))) : '',
			L.toArray(d.seen_in).length ? E('small', {}, [ _('Seen in:'), ' ', L.toArray(d.seen_in).join(', ') ]) : ''
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

	/* The rows as `config device` sections in LuCI's uci cache. */
	stage() {
		this.data.device.forEach(row => {
			if (!row.mac)
				return;

			const want = {
				'class': row['class'] || null,
				internet: (row.internet == 'block') ? 'block' : null,
				upnp: (row.upnp == 'deny') ? 'deny' : null
			};
			const empty = !want['class'] && !want.internet && !want.upnp;
			let s = sectionFor(row.mac);

			if (!s && empty)
				return;

			const sid = s ? s['.name'] : uci.add('camguard', 'device');

			if (!s)
				uci.set('camguard', sid, 'mac', row.mac);

			Object.keys(want).forEach(k => {
				if ((uci.get('camguard', sid, k) || null) != want[k])
					uci.set('camguard', sid, k, want[k]);
			});

			s = uci.get('camguard', sid);

			if (!Object.keys(s).some(k => k.charAt(0) != '.' && k != 'mac'))
				uci.remove('camguard', sid);
		});
	},

	save() {
		if (!cg.canWrite())
			return Promise.reject(cg.readOnlyError());

		return this.map.save(null, true).then(() => this.stage()).then(() => uci.save());
	},

	handleSave(ev) {
		return this.save().catch(err => cg.notifyError(_('Save'), err));
	},

	handleSaveApply(ev, mode) {
		return this.save()
			.then(() => ui.changes.apply(mode == '0'))
			.catch(err => cg.notifyError(_('Save & Apply'), err));
	},

	handleReset(ev) {
		return this.map ? this.map.reset() : Promise.resolve();
	}
});
