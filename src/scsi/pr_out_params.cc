#include "scsi/pr_out_params.h"

#include <algorithm>

#include "common/bytes.h"

namespace scsipub::scsi {

namespace {

constexpr std::string_view kIsidSeparator = ",i,0x";
constexpr size_t kIsidHexDigits = 12;          // a 6-byte ISID
constexpr size_t kMaxIscsiNameLength = 223;     // RFC 7143 4.2.7.1
constexpr size_t kMinTransportIdLength = 24;    // SPC-4 7.6.4.6: ADDITIONAL LENGTH >= 20

Unexpected<PrParamError> length_error(size_t byte) {
  return {PrParamError{SenseReason::parameter_list_length_error,
                       FieldPointer{false, uint16_t(std::min<size_t>(byte, 0xFFFF)), -1}}};
}

Unexpected<PrParamError> invalid_field(size_t byte, int8_t bit = -1) {
  return {PrParamError{SenseReason::invalid_field_in_parameter_list,
                       FieldPointer{false, uint16_t(std::min<size_t>(byte, 0xFFFF)), bit}}};
}

// RFC 3722: a normalised iSCSI name is letters, digits, '-', '.', ':' (and
// UTF-8 beyond ASCII). A comma would make the port name ambiguous, and
// control characters have no business in a key we persist and log.
bool valid_name_byte(uint8_t c) { return c > 0x20 && c != 0x7F && c != ','; }

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

}  // namespace

std::string TransportId::initiator_port() const {
  if (format == 0) return name;
  std::string s = name;
  s += kIsidSeparator;
  s += isid;
  return s;
}

Result<TransportId, PrParamError> parse_transport_id(std::span<const uint8_t> data, size_t* length,
                                                     uint16_t base) {
  if (data.size() < 4) return length_error(base);
  const uint8_t format = data[0] >> 6;
  if ((data[0] & 0x0F) != kProtocolIdIscsi) return invalid_field(base, 3);
  if (format > 1) return invalid_field(base, 7);
  const size_t additional = load_be16(&data[2]);
  if (additional + 4 < kMinTransportIdLength || additional % 4 != 0) return invalid_field(base + 2);
  if (4 + additional > data.size()) return length_error(base + 2);

  // The name field runs to a NUL inside the descriptor; what follows is padding.
  auto field = data.subspan(4, additional);
  auto nul = std::find(field.begin(), field.end(), uint8_t{0});
  if (nul == field.end()) return invalid_field(base + 4);
  std::string text(field.begin(), nul);

  TransportId id;
  id.format = format;
  if (format == 1) {
    // SPC-4 7.6.4.6: "<name>,i,0x<ISID in hex>".
    const size_t sep = text.rfind(kIsidSeparator);
    if (sep == std::string::npos) return invalid_field(base + 4);
    id.isid = text.substr(sep + kIsidSeparator.size());
    text.resize(sep);
    if (id.isid.size() != kIsidHexDigits || !std::all_of(id.isid.begin(), id.isid.end(), is_hex))
      return invalid_field(base + 4 + sep + kIsidSeparator.size());
    std::transform(id.isid.begin(), id.isid.end(), id.isid.begin(), lower);
  }
  if (text.empty() || text.size() > kMaxIscsiNameLength) return invalid_field(base + 4);
  for (size_t i = 0; i < text.size(); ++i)
    if (!valid_name_byte(uint8_t(text[i]))) return invalid_field(base + 4 + i);
  id.name = std::move(text);
  *length = 4 + additional;
  return id;
}

Result<PrOutBasicParams, PrParamError> parse_pr_out_basic(std::span<const uint8_t> list) {
  if (list.size() < kPrOutBasicLength) return length_error(0);
  PrOutBasicParams p;
  p.reservation_key = load_be64(&list[0]);
  p.service_action_key = load_be64(&list[8]);
  p.spec_i_pt = (list[20] & 0x08) != 0;
  p.all_tg_pt = (list[20] & 0x04) != 0;
  p.aptpl = (list[20] & 0x01) != 0;
  if (!p.spec_i_pt) {
    if (list.size() != kPrOutBasicLength) return length_error(0);
    return p;
  }
  // SPC-4 6.16.3: TRANSPORTID PARAMETER DATA LENGTH, then whole TransportIDs.
  if (list.size() < kPrOutBasicLength + 4) return length_error(0);
  const uint64_t tpdl = load_be32(&list[24]);
  if (kPrOutBasicLength + 4 + tpdl != list.size()) return length_error(24);
  size_t off = kPrOutBasicLength + 4;
  while (off < list.size()) {
    size_t n = 0;
    auto id = parse_transport_id(list.subspan(off), &n, uint16_t(std::min<size_t>(off, 0xFFFF)));
    if (!id) return Unexpected<PrParamError>{id.error()};
    p.transport_ids.push_back(std::move(id.value()));
    off += n;
  }
  return p;
}

Result<PrOutMoveParams, PrParamError> parse_pr_out_move(std::span<const uint8_t> list) {
  if (list.size() < kPrOutBasicLength) return length_error(0);
  PrOutMoveParams p;
  p.reservation_key = load_be64(&list[0]);
  p.service_action_key = load_be64(&list[8]);
  p.unreg = (list[17] & 0x02) != 0;
  p.aptpl = (list[17] & 0x01) != 0;
  p.relative_target_port = load_be16(&list[18]);
  const uint64_t tpdl = load_be32(&list[20]);
  if (kPrOutBasicLength + tpdl != list.size()) return length_error(20);
  size_t n = 0;
  auto id = parse_transport_id(list.subspan(kPrOutBasicLength), &n, uint16_t(kPrOutBasicLength));
  if (!id) return Unexpected<PrParamError>{id.error()};
  // SPC-4 6.16.4: exactly one TransportID.
  if (n != tpdl) return invalid_field(20);
  p.transport_id = std::move(id.value());
  return p;
}

std::vector<uint8_t> encode_iscsi_transport_id(std::string_view initiator_port) {
  const uint8_t format = initiator_port.find(kIsidSeparator) != std::string_view::npos ? 1 : 0;
  // ADDITIONAL LENGTH is 16 bits; names are at most a few hundred bytes, but
  // a state loaded from a database is not trusted to be.
  initiator_port = initiator_port.substr(0, 0xFFF0);
  size_t n = (4 + initiator_port.size() + 1 + 3) / 4 * 4;
  n = std::max(n, kMinTransportIdLength);
  std::vector<uint8_t> out(n, 0);
  out[0] = uint8_t(format << 6 | kProtocolIdIscsi);
  store_be16(&out[2], uint16_t(n - 4));
  std::copy(initiator_port.begin(), initiator_port.end(), out.begin() + 4);
  return out;
}

std::string iscsi_initiator_port(std::string_view initiator_name, std::span<const uint8_t, 6> isid) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(initiator_name);
  s += kIsidSeparator;
  for (uint8_t b : isid) {
    s += kHex[b >> 4];
    s += kHex[b & 0x0F];
  }
  return s;
}

}  // namespace scsipub::scsi
