/**
 * External numbers in the generated Kamailio config: how a dialled number is read (route[NUMBER], route[E164]),
 * calls out to the trunk (route[TRUNK]) and in from it (route[FROMTRUNK]), and the answer to the trunk's
 * digest challenge (in failure_route[FAILED]).
 */
import type { CountryCode } from 'libphonenumber-js';
import { nationalDialPlan } from '../../shared/phoneNumber.js';

/** External numbers: how national numbers are read, and the trunk they go to (none: they fail with 503). */
export interface DialPlan {
  country: CountryCode;
  /** `sip:host[:port]`. */
  trunkUri: string | undefined;
  /** Put before the E.164 number in the request URI sent to the trunk. */
  outboundPrefix: string;
  /**
   * Incoming calls from the trunk: the company's number in E.164 whose following digits are the extension
   * ("+390391234" + "200" → 200). Undefined: the trunk's calls are refused (404).
   */
  didPrefix?: string | undefined;
  /** The extension the bare company number (didPrefix alone) rings; undefined: 404. */
  didOperator?: string | undefined;
}

/** Digest credentials the edge answers the trunk's 401/407 with (kept in the 0600 config file only). */
export interface TrunkAuth {
  username: string;
  password: string;
}

/** Transaction flags: the INVITE went to the trunk; it was already answered with credentials once. */
const TRUNK_FLAG = 10;
const TRUNK_AUTH_FLAG = 11;

/**
 * route[NUMBER] and route[TRUNK]: an INVITE or MESSAGE to an extension that has credentials (a directory user's)
 * goes to its phones; any other number is read as an external one (the same rules as shared/phoneNumber.ts, for
 * the default country) and, when it looks like a dialable E.164 number, goes to the trunk with the outbound prefix.
 */
export function dialRoutes(plan: DialPlan): string {
  const { callingCode, nationalPrefix } = nationalDialPlan(plan.country);
  const stripNational = nationalPrefix
    ? `if ($var(n) =~ "^${nationalPrefix}") { $var(n) = $(var(n){s.substr,${nationalPrefix.length},0}); }`
    : '# the national prefix is kept in E.164 here';
  const trunk = plan.trunkUri?.replace(/^sip:/, '');
  const toTrunk = trunk
    ? `$ru = "sip:${plan.outboundPrefix}" + $var(n) + "@${trunk}";
	route(RELAY);`
    : `$var(code) = "503";
	route(CALLEVENT_FAIL);
	t_reply("503", "No trunk for external numbers");`;
  return `# Sets $var(external) and, for an external number, $rU to its E.164 form (what the call records show).
route[NUMBER] {
	$var(external) = 0;
	$var(queue) = 0;
	if ($sht(creds=>$rU) != $null) return;
	if ($sht(queues=>$rU) != $null) { $var(queue) = 1; return; }
	$var(n) = $rU;
	if ($var(n) =~ "^00[1-9]") {
		$var(n) = "+" + $(var(n){s.substr,2,0});
	} else if ($var(n) =~ "^[0-9]") {
		${stripNational}
		$var(n) = "+${callingCode}" + $var(n);
	}
	# Too short or not digits: an unknown extension, which route[LOCATION] answers 404.
	if (!($var(n) =~ "^[+][1-9][0-9]{7,14}$")) return;
	$var(external) = 1;
	$rU = $var(n);
}

route[TRUNK] {
	# Before t_newtran: the transaction keeps the flags it is created with (failure_route[FAILED] reads it).
	setflag(${TRUNK_FLAG});
	t_newtran();
	if (!is_method("INVITE")) { t_reply("404", "Not Found"); exit; }
	${toTrunk}
	exit;
}`;
}

/** A string literal in Kamailio's config: backslashes and quotes escaped. */
function cfgString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * route[FROMTRUNK]: a request from the trunk's address (its host and port, as in UCC_SIP_TRUNK_URI) is let in
 * without digest auth only as an INVITE to a mapped DID; anything else from there is refused with 404.
 */
export function trunkRoutes(plan: DialPlan): string {
  const m = plan.trunkUri?.match(/^sip:([^:;]+)(?::(\d+))?/);
  const { callingCode, nationalPrefix } = nationalDialPlan(plan.country);
  const fromTrunk = m
    ? `if (!($si == "${m[1]}" && $sp == ${m[2] ?? '5060'})) return;
	if (!is_method("INVITE")) { sl_send_reply("404", "Not Found"); exit; }
	$var(n) = $rU;
	route(E164);
	$var(did) = $var(n);
	$var(ext) = "";
	${
    plan.didPrefix
      ? `if ($var(did) == "${plan.didPrefix}") {
		$var(ext) = "${plan.didOperator ?? ''}";
	} else if ($(var(did){s.substr,0,${plan.didPrefix.length}}) == "${plan.didPrefix}") {
		$var(ext) = $(var(did){s.substr,${plan.didPrefix.length},0});
	}`
      : '# no DID prefix: every call from the trunk is refused'
  }
	if ($var(ext) == "" || $sht(creds=>$var(ext)) == $null) {
		sl_send_reply("404", "Not Found");
		exit;
	}
	# The caller id in E.164, as the web phone and the call records read an external number.
	$var(n) = $fU;
	route(E164);
	if ($var(n) =~ "^[+][1-9][0-9]{5,14}$" && $var(n) != $fU) { $fU = $var(n); }
	$rU = $var(ext);
	$var(external) = 1;
	$var(from) = $var(n);
	$var(trunk_in) = 1;
	record_route();
	dlg_manage();
	route(CALLEVENT_START);
	$var(external) = 0;
	route(LOCATION);
	exit;`
    : 'return; # no trunk: nothing comes from one';
  const stripNational = nationalPrefix
    ? `if ($var(n) =~ "^${nationalPrefix}") { $var(n) = $(var(n){s.substr,${nationalPrefix.length},0}); }`
    : '';
  return `route[FROMTRUNK] {
	${fromTrunk}
}

# $var(n) to E.164 where it reads as a number ("0039…", "039…" for the default country), else unchanged.
route[E164] {
	if ($var(n) =~ "^00[1-9]") {
		$var(n) = "+" + $(var(n){s.substr,2,0});
	} else if ($var(n) =~ "^[0-9]{6,}$") {
		${stripNational}
		$var(n) = "+${callingCode}" + $var(n);
	}
}
`;
}

/** In failure_route[FAILED] itself (uac_auth works in no sub-route): the trunk's 401/407 answered once. */
export function trunkAuthBlock(auth: TrunkAuth | undefined): string {
  // A challenge the edge cannot (or could not) answer never reaches the phone: it would answer it with its own
  // extension's credentials, to the carrier.
  const refuseChallenge = `if (isflagset(${TRUNK_FLAG}) && t_check_status("401|407")) {
		$var(code) = "403";
		rtpengine_delete();
		route(CALLEVENT_FAIL);
		t_reply("403", "Trunk authentication failed");
		exit;
	}`;
  return auth
    ? `if (isflagset(${TRUNK_FLAG}) && !isflagset(${TRUNK_AUTH_FLAG}) && t_check_status("401|407")) {
		setflag(${TRUNK_AUTH_FLAG});
		# uac matches credentials by realm: the one the trunk asks for.
		if (t_check_status("407")) { $var(ch) = $T_rpl($hdr(Proxy-Authenticate)); }
		else { $var(ch) = $T_rpl($hdr(WWW-Authenticate)); }
		$avp(trunk_realm) = $(var(ch){re.subst,/^.*realm="([^"]*)".*$/\\1/});
		$avp(trunk_user) = ${cfgString(auth.username)};
		$avp(trunk_pass) = ${cfgString(auth.password)};
		if (uac_auth()) {
			t_on_reply("REPLY");
			t_on_failure("FAILED");
			t_on_branch("MEDIA_BRANCH");
			if (t_relay()) exit;
		}
	}
	${refuseChallenge}`
    : refuseChallenge;
}
