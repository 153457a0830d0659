'use strict';
'require view';
'require form';
'require uci';
'require camguard.common as cg';

return view.extend({
	load() {
		return Promise.all([
			cg.read(cg.callForwards),
			uci.load('camguard')
		]);
	},

	render([ forwards ]) {
		let m, s, o;

		m = new form.Map('camguard', _('Camguard settings'),
			_('Your policy for UPnP, port forwards and cameras. Camguard audits the router against it; with enforcement on, it also changes the router to match and journals every change so that it can be undone on the Overview page.'));

		const main = uci.sections('camguard', 'camguard')[0];

		s = m.section(form.NamedSection, main ? main['.name'] : 'main', 'camguard', _('Policy'));
		s.addremove = (main == null);

		o = s.option(form.Flag, 'enforce', _('Enforce the policy'),
			_('Off: camguard only reports. On: camguard changes the router to match this policy whenever it finds a difference.'));
		o.default = '0';
		o.rmempty = false;

		o = s.option(form.ListValue, 'upnp', _('UPnP and NAT-PMP'),
			_('UPnP lets any device open ports in your firewall without asking; the NCSC advises switching it off. Off: no device may open ports. Restricted: secure mode, ports 1024-65535 only, and never for cameras or devices set to "Deny UPnP". Allowed: camguard only reports.'));
		o.value('off', _('Off'));
		o.value('restricted', _('Restricted'));
		o.value('allow', _('Allowed'));
		o.default = 'off';
		/* Written even when it equals the default: the file says what the form shows. */
		o.rmempty = false;

		o = s.option(form.ListValue, 'forwards', _('Port forwards'),
			_('Which port forwards from the internet may stay. Off: none. Allowlist: only those listed below. No cameras: none to cameras, NVRs, doorbells or baby monitors. Allowed: camguard only reports. A forward against the policy is disabled, never deleted.'));
		o.value('off', _('Off'));
		o.value('allowlist', _('Allowlist'));
		o.value('no_cameras', _('No cameras'));
		o.value('allow', _('Allowed'));
		o.default = 'allowlist';
		o.rmempty = false;

		o = s.option(form.ListValue, 'camera_internet', _('Cameras on the internet'),
			_('Blocking stops cameras from reaching the internet at all: their cloud apps and remote viewing stop working, but a hacked camera cannot call home either. Single devices can be blocked under Devices.'));
		o.value('allow', _('Allow'));
		o.value('block', _('Block every camera'));
		o.default = 'allow';
		o.rmempty = false;

		o = s.option(form.Value, 'audit_interval', _('Audit interval'),
			_('Seconds between full audits (10 to 86400). Changes to the firewall or UPnP trigger an audit sooner.'));
		o.datatype = 'range(10,86400)';
		o.placeholder = '300';
		o.rmempty = true;

		o = s.option(form.Flag, 'listen', _('Hear what devices announce'),
			_('Camguard listens for the announcements LAN devices send by themselves (UPnP, ONVIF, Hikvision SADP) to tell which are cameras, and what model and firmware they run. It sends nothing.'));
		o.default = '1';
		o.rmempty = false;

		o = s.option(form.Flag, 'probe', _('Ask devices what they are'),
			_('Once a day camguard checks each LAN device\'s camera ports and asks it who it is (UPnP, ONVIF, Hikvision SADP, Dahua discovery). It only contacts addresses inside your LAN.'));
		o.default = '0';
		o.rmempty = false;

		o = s.option(form.Flag, 'credential_check', _('Check for factory passwords'),
			_('Warning: camguard then tries to log in to each camera with its maker\'s factory username and password, at most 2 attempts per device per day. A camera that still accepts them is reported as critical. Some cameras log or lock out failed logins; leave this off if that would bother you.'));
		o.default = '0';
		o.rmempty = false;

		/*
		 * A TableSection, not a GridSection: a GridSection adds rows in a dialog whose save
		 * re-renders the whole form from the saved config, dropping unsaved policy edits above;
		 * a TableSection's Add saves the whole form first, so they are kept.
		 */
		s = m.section(form.TableSection, 'allow_forward', _('Allowlist'),
			_('Port forwards kept when the forwards policy is "Allowlist". Pick a forward or type its name. An unnamed forward is kept by what it does (protocol, ports, address), so that removing another forward never changes which one is kept.'));
		s.anonymous = true;
		s.addremove = true;
		s.nodescriptions = true;

		/* Each offered forward by the text the row shows, and the entry written for it. */
		const offered = {};
		L.toArray(forwards).forEach(f => {
			const entry = cg.allowEntry(f);
			const key = cg.describeAllowEntry(entry);

			if (!offered[key])
				offered[key] = entry;
		});

		o = s.option(form.Value, 'redirect', _('Port forward'));
		o.rmempty = false;
		Object.keys(offered).forEach(key => {
			const dest = offered[key].redirect ? L.toArray(forwards).filter(f => cg.allowEntryKeeps(offered[key], f)).map(f => f.dest_ip)[0] : null;

			/* The label is a node: a choice label given as a string can end up as markup. */
			o.value(key, E('span', {}, [ key, dest ? ' → ' + dest : '' ]));
		});

		/* An entry by content has no redirect option: it shows as its description. */
		o.cfgvalue = function(section_id) {
			const section = uci.get('camguard', section_id) || {};

			return section.redirect || (section.dest_ip || section.src_dport || section.dest_port ? cg.describeAllowEntry(section) : null);
		};

		o.validate = function(section_id, value) {
			if (/^cfg[0-9a-f]{6}$/i.test(value || '') && !offered[value])
				return _('A section ID like %s changes when an earlier section is removed: pick the forward from the list instead.').format(value);

			return true;
		};

		/* A forward picked from the list is written as its entry (content for unnamed ones); typed text as a name. */
		o.write = function(section_id, value) {
			const entry = offered[value] || { redirect: value };

			[ 'redirect', 'proto', 'src_dport', 'dest_ip', 'dest_port', 'src_ip' ].forEach(opt => {
				if (entry[opt] != null)
					uci.set('camguard', section_id, opt, entry[opt]);
				else if (uci.get('camguard', section_id, opt) != null)
					uci.unset('camguard', section_id, opt);
			});
		};

		return m.render().then(node => cg.canWrite() ? node : E('div', {}, [ cg.readOnlyNotice(), node ]));
	},

	/* LuCI fades Save & Apply for a read-only login, but the button still reacts: say why and
	   send nothing, rather than a refused uci call and its error dialog. */
	handleSave(ev) {
		if (!cg.canWrite())
			return Promise.resolve(cg.notifyError(_('Save'), cg.readOnlyError()));

		return this.super('handleSave', [ ev ]);
	},

	handleSaveApply(ev, mode) {
		if (!cg.canWrite())
			return Promise.resolve(cg.notifyError(_('Save & Apply'), cg.readOnlyError()));

		return this.super('handleSaveApply', [ ev, mode ]);
	}
});
