/**
 * Call queues in the generated Kamailio config: the htables the server fills with each queue's members, and the
 * routes that ring them all at once and say who answered or turned the call down.
 */
import { CALL_ID, intField, relayEvent, strField } from './kamailioEvents.js';

/**
 * The htables of call queues: `queues` (number => "201,202", pushed by the server), `qct` and `qbr` (which member
 * each phone and branch of a queue call rings).
 */
export function queueModparams(): string {
  return `# queue number => its members' extensions, comma-separated; filled and emptied by the server over RPC only.
modparam("htable", "htable", "queues=>size=6;autoexpire=0;")
# "<Call-ID>::<contact>" and "<Call-ID>::<branch index>" => the member that phone or branch rings: who answered.
modparam("htable", "htable", "qct=>size=8;autoexpire=600;")
modparam("htable", "htable", "qbr=>size=8;autoexpire=600;")`;
}

/**
 * route[QUEUE] and route[QUEUE_REPLY]: a call to a queue's number rings every registered member at once (the
 * caller excepted), each member's phones as their own branches; the first to answer gets the call, tm cancels the
 * others. No member registered: 480. Nobody answers within fr_inv_timer: 408, as for an extension. The `queued`
 * event says which members rang; `answered` says which one took it.
 */
export function queueRoutes(domain: string): string {
  const members = strField('members', '$(var(rung){s.substr,1,0})');
  const queued = relayEvent('queued', [CALL_ID, strField('queue', '$var(qnum)'), members], '\t');
  const refused = relayEvent(
    'memberRefused',
    [CALL_ID, strField('member', '$var(qm)'), intField('code', '$rs')],
    '\t\t\t',
  );
  return `route[QUEUE] {
	if (!is_method("INVITE")) { t_newtran(); t_reply("404", "Not Found"); exit; }
	$var(qnum) = $rU;
	$var(rest) = $sht(queues=>$rU);
	$var(rung) = "";
	# Whether the R-URI holds a member's first phone not yet among the branches (it is forked as itself).
	$var(held) = 0;
	while ($var(rest) =~ "^[0-9]") {
		$var(m) = $(var(rest){re.subst,/^([0-9]+).*$/\\1/});
		$var(rest) = $(var(rest){re.subst,/^[0-9]+,?//});
		$var(aor) = "sip:" + $var(m) + "@${domain}";
		if ($var(m) != $fU && registered("location", "$var(aor)")) {
			if ($var(held) == 1) { append_branch(); }
			$var(before) = $T_branch_idx;
			if (lookup("location", "$var(aor)")) {
				handle_ruri_alias();
				$var(held) = 1;
				# Each phone (contact) of this member => the member, for branch_route[MEDIA_BRANCH].
				$sht(qct=>$ci::$ru) = $var(m);
				$var(j) = $var(before);
				while ($var(j) < $T_branch_idx) {
					$sht(qct=>$ci::$(branch(uri)[$var(j)])) = $var(m);
					$var(j) = $var(j) + 1;
				}
				$var(rung) = $var(rung) + "," + $var(m);
			}
		}
	}
	if ($var(rung) == "") {
		$var(code) = "480";
		route(CALLEVENT_FAIL);
		t_newtran();
		t_reply("480", "No member of the queue is available");
		exit;
	}
	${queued}
	# A member's 603 Decline is that member's answer, not the queue's: the others keep ringing (tm would cancel
	# every branch on a 6xx).
	t_set_disable_6xx(1);
	route(RELAY);
}

route[QUEUE_BRANCH] {
	$var(qm) = $sht(qct=>$ci::$ru);
	if ($var(qm) != $null) { $sht(qbr=>$ci::$T_branch_idx) = $var(qm); }
}

# The member whose branch answered: kept on the dialog (the answered event, and ending that member's calls).
# A member whose phone turned the call down (busy, rejected) is told to the server: that member did not miss it.
route[QUEUE_REPLY] {
	if (($rs == "486" || $rs == "600" || $rs == "603") && is_method("INVITE")) {
		$var(qm) = $sht(qbr=>$ci::$T_branch_idx);
		if ($var(qm) != $null && $var(qm) != "") {
			${refused}
		}
		return;
	}
	if (!($rs =~ "^2" && is_method("INVITE")) || $dlg_var(member) != $null) return;
	$var(qm) = $sht(qbr=>$ci::$T_branch_idx);
	if ($var(qm) != $null && $var(qm) != "") { $dlg_var(member) = $var(qm); }
}`;
}
