"""fetch_url's address policy on IPv6 forms that carry an IPv4 address: judged by what they carry."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit.tools import fetch_url, fetch_url_tool
from agentkit.tools.fetch_url import AddressPolicy, URLRefused, embedded_ipv4

IPv4 = ipaddress.IPv4Address
IPv6 = ipaddress.IPv6Address
TEREDO_SERVER = int(IPv4("65.54.227.120"))  # a public address, as Teredo servers have


def mapped(v4: int) -> IPv6:
    return IPv6((0xFFFF << 32) | v4)


def translated(v4: int) -> IPv6:
    return IPv6((0xFFFF << 48) | v4)


def compatible(v4: int) -> IPv6:
    return IPv6(v4)


def sixtofour(v4: int) -> IPv6:
    return IPv6((0x2002 << 112) | (v4 << 80) | 0x1)


def nat64(v4: int) -> IPv6:
    return IPv6(int(IPv6("64:ff9b::")) | v4)


def local_nat64(prefix_length: int) -> Callable[[int], IPv6]:
    """The local-use NAT64 prefix extended to ``prefix_length`` bits, with ``v4`` where RFC 6052
    puts it for that length (bits 64-71 skipped)."""

    def embed(v4: int) -> IPv6:
        base = int(IPv6("64:ff9b:1::"))
        if prefix_length == 96:
            return IPv6(base | v4)
        shifted = v4 << (120 - prefix_length - 32)  # in the 120 bits without bits 64-71
        return IPv6(base | ((shifted >> 64) << 72) | (shifted & ((1 << 64) - 1)))

    return embed


def teredo_client(v4: int) -> IPv6:
    return IPv6((0x20010000 << 96) | (TEREDO_SERVER << 64) | (v4 ^ 0xFFFFFFFF))


def teredo_server(v4: int) -> IPv6:
    return IPv6((0x20010000 << 96) | (v4 << 64) | (int(IPv4("93.184.216.34")) ^ 0xFFFFFFFF))


TRANSLATIONS: dict[str, Callable[[int], IPv6]] = {
    "IPv4-mapped": mapped,
    "IPv4-translated": translated,
    "IPv4-compatible": compatible,
    "6to4": sixtofour,
    "NAT64": nat64,
}
EVERY_FORM: dict[str, Callable[[int], IPv6]] = {
    **TRANSLATIONS,
    **{f"local-use NAT64 /{n}": local_nat64(n) for n in (48, 56, 64, 96)},
    "Teredo client": teredo_client,
    "Teredo server": teredo_server,
}


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://[2002:7f00:1::]/", "loopback address (the 6to4 form of 127.0.0.1)"),
        ("http://[2002:a00:1::]/x", "private address (the 6to4 form of 10.0.0.1)"),
        ("http://[2002:a9fe:a9fe::]/", "cloud metadata endpoint (the 6to4 form of 169.254.169.254)"),
        ("http://[64:ff9b::7f00:1]/", "loopback address (the NAT64 form of 127.0.0.1)"),
        ("http://[64:ff9b::c0a8:101]/", "private address (the NAT64 form of 192.168.1.1)"),
        ("http://[64:ff9b:1::7f00:1]/", "loopback address (the local-use NAT64 form of 127.0.0.1)"),
        # RFC 6052's /48 layout: 127.0.0.1 in bits 48-63 and 72-87; the last 32 bits look public
        (
            "http://[64:ff9b:1:7f00:0:100:808:808]/",
            "loopback address (the local-use NAT64 form of 127.0.0.1)",
        ),
        ("http://[::127.0.0.1]/", "loopback address (the IPv4-compatible form of 127.0.0.1)"),
        ("http://[::ffff:0:a00:1]/", "private address (the IPv4-translated form of 10.0.0.1)"),
        ("http://[::ffff:127.0.0.1]/", "loopback address (the IPv4-mapped form of 127.0.0.1)"),
        ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "loopback address (the Teredo form of 127.0.0.1)"),
        ("http://[2001:0:a00:1::]/", "private address (the Teredo form of 10.0.0.1)"),
    ],
)
def test_ipv6_forms_are_refused_by_the_ipv4_address_they_carry(url: str, kind: str) -> None:
    with pytest.raises(URLRefused) as refused:
        fetch_url(url)
    assert f" is a {kind}" in refused.value.message or f" is an {kind}" in refused.value.message


def test_forms_carrying_public_addresses_stay_usable() -> None:
    policy = AddressPolicy()
    for text in ("2002:808:808::1", "64:ff9b::808:808", "::ffff:8.8.8.8", "::8.8.8.8"):
        assert policy.refusal(ipaddress.ip_address(text)) is None, text
    # Teredo is judged as itself too, and its prefix is not a public range
    assert policy.refusal(teredo_client(int(IPv4("8.8.8.8")))) == "a private address"


def test_allowances_apply_to_the_carried_address_and_never_open_metadata() -> None:
    private = fetch_url_tool(allow_private=True)
    with pytest.raises(URLRefused, match="cloud metadata endpoint"):
        private("http://[2002:a9fe:a9fe::]/")
    with pytest.raises(URLRefused, match="cloud metadata endpoint"):
        private("http://[64:ff9b::a9fe:a9fe]/")
    assert AddressPolicy(allow_private=True).refusal(sixtofour(int(IPv4("10.0.0.1")))) is None
    listed = AddressPolicy(allow_networks=["10.1.0.0/16"])
    assert listed.refusal(nat64(int(IPv4("10.1.2.3")))) is None
    assert listed.refusal(nat64(int(IPv4("10.2.0.1")))) is not None


@pytest.mark.parametrize("form", sorted(EVERY_FORM))
def test_each_form_carries_the_address_put_in_it(form: str) -> None:
    v4 = int(IPv4("192.168.7.9"))
    name, carried = embedded_ipv4(EVERY_FORM[form](v4))
    assert form.startswith(name) and IPv4(v4) in carried


_NON_PUBLIC = [
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
    )
]  # fmt: skip
_ADDRESSES = st.one_of(
    st.integers(0, 2**32 - 1),
    st.builds(
        lambda network, offset: int(network.network_address) + offset % network.num_addresses,
        st.sampled_from(_NON_PUBLIC),
        st.integers(0, 2**32 - 1),
    ),
)


@given(v4=_ADDRESSES, form=st.sampled_from(sorted(EVERY_FORM)))
def test_no_form_opens_an_address_its_ipv4_would_not(v4: int, form: str) -> None:
    policy = AddressPolicy()
    own = policy.refusal(IPv4(v4))
    wrapped = policy.refusal(EVERY_FORM[form](v4))
    if own is not None:
        assert wrapped is not None
        own_ipv6 = form == "IPv4-compatible" and v4 <= 1  # :: and ::1 are IPv6's own addresses
        if (form in TRANSLATIONS or form.startswith("Teredo")) and not own_ipv6:
            assert wrapped.startswith(own), (form, wrapped, own)  # the message names what it carries


@given(v4=_ADDRESSES, form=st.sampled_from(sorted(TRANSLATIONS)))
def test_translation_forms_are_exactly_as_public_as_their_ipv4(v4: int, form: str) -> None:
    policy = AddressPolicy()
    assert (policy.refusal(TRANSLATIONS[form](v4)) is None) == (policy.refusal(IPv4(v4)) is None)
