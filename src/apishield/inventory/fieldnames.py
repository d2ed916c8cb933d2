"""What a field's name says its value may be.

A name alone never classifies anything: it only nominates classes, and the value must then pass that
class's check. Names are decided once and cached, because the same few hundred keys repeat in every
response of an API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from apishield.inventory.value_names import ValueName, value_name

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_MAX_NAME = 64
_CACHE_SIZE = 8192


@dataclass(frozen=True, slots=True)
class FieldName:
    """A decided name. Immutable and shared: one instance serves every field of that name."""

    checks: tuple[str, ...] = ()
    """Checks a value under this name is put to, most specific first; each is named after the
    class it finds, except "imeisv", which finds an imei."""
    address: str = ""
    """Its role in a postal address: "street", "line", "city" or "postcode"; "" if none."""
    contextual_name: bool = False
    """A bare "name" is a person's only beside other personal fields; on a product it is not."""
    people: bool = False
    """A key that holds people ("customers", "owner"), so a bare "name" below it is a person's."""
    identifier: bool = False
    """An ID or reference field, whose long digit strings are record keys, not SIM serials."""
    inherits: str = ""
    """"value" for a generic key ("number") that takes its meaning from the enclosing key, as in
    {"card": {"number": ...}}; "name_part" for {"name": {"first": ...}}."""
    value_field: FieldName | None = None
    """What a generic "number" or "value" key below this one holds, when that differs from what
    this key's own value may be: {"account": {"number": ...}}."""
    value: ValueName | None = None
    """The name is itself a value (a phone number keying a map), kept as `value.shown`; such a
    name nominates nothing."""
    contextual: bool = field(init=False)
    """An address part or a bare name, decided with the sibling fields."""
    plain: bool = field(init=False)
    """Nominates nothing: only the value's own format can classify it. Precomputed because the
    walk asks it of every string in every body."""
    renamed: bool = field(init=False)
    """A value, or a generic key that inherits: the walk asks it of every key in every body."""

    def __post_init__(self) -> None:
        contextual = bool(self.address) or self.contextual_name
        object.__setattr__(self, "contextual", contextual)
        object.__setattr__(self, "plain", not (self.checks or contextual))
        object.__setattr__(self, "renamed", bool(self.inherits) or self.value is not None)


NO_CLASS = FieldName()
NAMES: dict[str, FieldName] = {}
"""Decided names; the walk reads it directly to save a call per field."""


def field_name(name: str) -> FieldName:
    """The classes `name` nominates; cached, and bounded so hostile key sets cannot grow it."""
    known = NAMES.get(name)
    if known is None:
        valued = value_name(name)
        if len(name) > _MAX_NAME:
            return NO_CLASS if valued is None else FieldName(value=valued)
        if len(NAMES) >= _CACHE_SIZE:
            NAMES.clear()
        known = NAMES[name] = decide(name) if valued is None else FieldName(value=valued)
    return known


def shown_name(name: str) -> str:
    """A name as the inventory keeps it: by its kind when it is a value."""
    valued = field_name(name).value
    return name if valued is None else valued.shown


_SECRET = ("jwt", "api_key")
_EXACT: dict[str, FieldName] = {}


def _add(names: str, field: FieldName) -> None:
    for name in names.split():
        _EXACT[name] = field


_add("email emailaddress mail", FieldName(("email",)))
_add("msisdn mdn", FieldName(("msisdn", "phone")))
_add("imsi", FieldName(("imsi",)))
_add("imei imei1 imei2 deviceimei", FieldName(("imei",)))
_add("imeisv", FieldName(("imeisv",)))
_add(
    "device deviceid deviceidentifier deviceserial handset handsetid equipmentid",
    FieldName(("imei",), identifier=True),
)
_add(
    "iccid icc iccidnumber sim simnumber simserial simserialnumber simid simcard",
    FieldName(("iccid",)),
)
_add(
    "pan cc ccnumber ccnum card cardnumber cardno cardnum creditcard creditcardnumber debitcard "
    "debitcardnumber paymentcard paymentcardnumber primaryaccountnumber cardpan",
    FieldName(("payment_card",)),
)
_add("iban ibannumber bankiban", FieldName(("iban",)))
_add(
    "account bankaccount billingaccount",
    FieldName(("iban",), value_field=FieldName(("iban", "account_number"))),
)
_add(
    "accountnumber accountno accountnum acctno acctnum acctnumber acct "
    "bankaccountnumber ban billingaccountnumber billingaccountno customeraccountnumber",
    FieldName(("iban", "account_number")),
)
_add(
    "ssn socialsecuritynumber socialsecurity socialsecurityno ssnumber usssn",
    FieldName(("ssn",)),
)
_add(
    "nationalid nationalidnumber nationalidentifier nationalidentitynumber nino ninumber nin "
    "nationalinsurancenumber nationalinsuranceno dni nie nif bsn burgerservicenummer sin "
    "socialinsurancenumber aadhaar aadhaarnumber aadhar idnumber identitynumber "
    "identificationnumber governmentid citizenid personalidnumber personalnumber",
    FieldName(("national_id", "ssn")),
)
_add(
    "firstname lastname fullname givenname givennames familyname surname middlename maidenname "
    "legalname fname lname forename forenames customername holdername cardholdername "
    "accountholdername accountholder cardholder nameoncard contactname recipientname billingname "
    "shippingname patientname employeename subscribername beneficiaryname payeename membername "
    "personname realname ownername sendername receivername guestname passengername",
    FieldName(("person_name",)),
)
_add("name displayname", FieldName(contextual_name=True))
_add("first last given family middle full", FieldName(inherits="name_part"))
_add("number value no num nr", FieldName(identifier=True, inherits="value"))
_add("dob dateofbirth birthdate birthday birthdt bdate dobdate", FieldName(("date_of_birth",)))
_add(
    "street streetaddress streetname streetline streetline1 streetline2 street1 street2 address "
    "addressline addressline1 addressline2 addressline3 address1 address2 address3 addr addr1 "
    "addr2 homeaddress postaladdress mailingaddress billingaddress shippingaddress "
    "residentialaddress deliveryaddress streetandnumber",
    FieldName(("postal_address",), address="street"),
)
_add("line1 line2 line3", FieldName(address="line"))
_add("city town locality cityname suburb", FieldName(address="city"))
_add("postcode postalcode zip zipcode postcodezip postalzip", FieldName(address="postcode"))
_add(
    "password passwd pwd pass passphrase passcode passwordhash hashedpassword encryptedpassword "
    "userpassword pin accountpin simpin pinnumber securitypin securityanswer secretanswer "
    "securityquestionanswer",
    FieldName(("password",)),
)
_add(
    "apikey xapikey apisecret apitoken secret clientsecret secretkey accesskey accesskeyid "
    "secretaccesskey privatetoken token accesstoken refreshtoken authtoken authorization "
    "bearertoken sessiontoken idtoken appsecret consumersecret signingkey encryptionkey "
    "webhooksecret sharedsecret privatekey authkey masterkey subscriptionkey "
    "ocpapimsubscriptionkey",
    FieldName(_SECRET),
)
_add(
    "ip ipaddress ipaddr clientip remoteip remoteaddr remoteaddress sourceip srcip userip lastip "
    "lastloginip loginip originip ipv4 ipv6",
    FieldName(("ip_address",)),
)
_add(
    "customer customers user users subscriber subscribers member members person people persons "
    "contact contacts employee employees patient patients client clients owner owners holder "
    "holders profile profiles beneficiary beneficiaries recipient recipients passenger passengers "
    "guest guests student students",
    FieldName(people=True),
)

_ADDRESS_NOT_POSTAL = frozenset(
    {"ip", "mac", "email", "mail", "wallet", "remote", "server", "host", "contract", "hardware"}
)
_PHONE_WORDS = frozenset({"phone", "telephone", "mobile", "cell", "tel", "fax", "landline"})
_PHONE_NOT = frozenset(
    {"id", "type", "verified", "code", "prefix", "ext", "extension", "country", "status", "count",
     "version", "app", "model", "os", "make", "brand", "carrier", "network", "plan", "data"}
)  # fmt: skip
_CARD_NOT = frozenset(
    {"holder", "name", "type", "brand", "id", "token", "expiry", "exp", "expires", "month",
     "year", "cvv", "cvc", "last4", "last", "bin", "country", "network", "status", "count"}
)  # fmt: skip
_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "passphrase", "passcode"})
_SECRET_NOT = frozenset(
    {"page", "next", "prev", "previous", "continuation", "cursor", "sync", "pagination", "type",
     "expires", "expiry", "expiration", "in", "at", "ttl", "url", "uri", "endpoint", "name",
     "id", "count", "hint", "length", "csrf", "xsrf", "nonce", "version", "format", "limit",
     "created", "updated", "changed", "reset", "policy", "required", "min", "max", "strength",
     "last", "has", "is", "set", "date", "age", "rules", "enabled", "status", "attempts",
     "failed", "must", "change", "needs", "valid", "scope", "scopes", "usage", "used"}
)  # fmt: skip
_BIRTH_NOT = frozenset({"place", "country", "city", "town", "weight", "name", "certificate"})
_ABOUT = frozenset(
    {"count", "total", "verified", "confirmed", "enabled", "status", "length", "format", "policy",
     "has", "is", "masked", "hint", "changed", "updated", "expires", "expiry"}
)  # fmt: skip
"""Words that make a field about a value ("email_verified", "phone_count") rather than one."""
_IDENTIFIER_WORDS = frozenset(
    {"id", "uuid", "guid", "ref", "reference", "order", "transaction", "invoice", "tracking",
     "sequence", "key", "number", "no", "serial"}
)  # fmt: skip


def words(name: str) -> list[str]:
    """camelCase, snake_case, kebab-case and "form[field]" names as lower-case words."""
    if name.endswith("]") and "[" in name:
        name = name[name.rindex("[") + 1 : -1] or name
    if "." in name:
        name = name.rsplit(".", 1)[1] or name
    return [w.lower() for w in _WORDS.findall(name)]


def decide(name: str) -> FieldName:
    tokens = words(name)
    compact = "".join(tokens)
    for candidate in (compact, compact[:-1], compact[:-2]):
        exact = _EXACT.get(candidate)
        if exact is not None and (candidate == compact or compact.endswith("s")):
            return exact
    return _by_words(tokens, compact)


def _by_words(tokens: list[str], compact: str) -> FieldName:
    """Names outside the exact list, judged by the words in them ("user_mobile_phone")."""
    present = set(tokens)
    present.update(t[:-1] for t in tokens if t.endswith("s") and len(t) > 3)  # "phones"
    if present & _ABOUT:
        return FieldName(identifier=bool(present & _IDENTIFIER_WORDS))
    if present & _PASSWORD_WORDS and not present & _SECRET_NOT:
        return FieldName(("password",))
    if present & {"secret", "token", "apikey"} or (
        "key" in present and present & {"api", "access", "secret", "auth", "private", "signing"}
    ):
        return NO_CLASS if present & _SECRET_NOT else FieldName(_SECRET)
    if present & {"birth", "dob"} and not present & _BIRTH_NOT:
        return FieldName(("date_of_birth",))
    if present & _PHONE_WORDS and not present & _PHONE_NOT:
        return FieldName(("phone",))
    if present & {"card", "pan"} and not present & _CARD_NOT:
        return FieldName(("payment_card",))
    if "ssn" in present:
        return FieldName(("ssn",))
    if present & {"imei", "imsi", "iccid", "msisdn", "iban"}:
        return FieldName(tuple(sorted(present & {"imei", "imsi", "iccid", "msisdn", "iban"})))
    if present & {"account", "acct"} and present & {"number", "no", "num", "nr"}:
        return FieldName(("iban", "account_number"))
    if compact.endswith(
        ("firstname", "lastname", "fullname", "givenname", "familyname", "surname")
    ):
        return FieldName(("person_name",))
    if compact.endswith("address") and not present & _ADDRESS_NOT_POSTAL:
        return FieldName(("postal_address",), address="street")
    if "ip" in present and present & {"address", "addr", "client", "remote", "user", "login"}:
        return FieldName(("ip_address",))
    return FieldName(identifier=bool(present & _IDENTIFIER_WORDS))
