// A small, strict XML 1.0 well-formedness checker and tree builder for the JUnit renderer's tests:
// elements, attributes, character data, the five predefined entities and character references
// (what RenderJUnit writes). Anything else — comments, CDATA, DOCTYPE, processing instructions
// after the declaration — is rejected, so a test fails rather than silently accepting it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace tracerig::testing {

struct XmlElement {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;  // decoded, in document order
  std::vector<XmlElement> children;
  std::string text;  // decoded character data directly inside this element

  const std::string* Attribute(std::string_view key) const {
    for (const auto& [k, v] : attributes) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

class MiniXmlParser {
 public:
  explicit MiniXmlParser(std::string_view doc) : doc_(doc) {}

  Result<XmlElement> Parse() {
    if (auto bad = CheckCharacters(); !bad.empty()) return MakeError(bad);
    if (doc_.substr(0, 5) == "<?xml") {
      size_t end = doc_.find("?>");
      if (end == std::string_view::npos) return Fail("unterminated XML declaration");
      pos_ = end + 2;
    }
    SkipSpace();
    XmlElement root;
    if (!ParseElement(root)) return MakeError(error_);
    SkipSpace();
    if (pos_ != doc_.size()) return Fail("content after the root element");
    return root;
  }

 private:
  tracerig::Error Fail(const std::string& what) {
    return MakeError("offset " + std::to_string(pos_) + ": " + what);
  }
  bool Reject(const std::string& what) {
    error_ = "offset " + std::to_string(pos_) + ": " + what;
    return false;
  }

  // Every character must be valid UTF-8 and an XML Char.
  std::string CheckCharacters() const {
    for (size_t i = 0; i < doc_.size();) {
      const auto b = static_cast<unsigned char>(doc_[i]);
      size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
      if (n == 0 || i + n > doc_.size()) return "offset " + std::to_string(i) + ": bad UTF-8";
      uint32_t cp = n == 1 ? b : b & (0x7F >> n);
      for (size_t k = 1; k < n; ++k) {
        const auto c = static_cast<unsigned char>(doc_[i + k]);
        if ((c & 0xC0) != 0x80) return "offset " + std::to_string(i) + ": bad UTF-8";
        cp = (cp << 6) | (c & 0x3F);
      }
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < kMin[n] || !IsXmlChar(cp)) {
        return "offset " + std::to_string(i) + ": character not allowed in XML";
      }
      i += n;
    }
    return "";
  }

  static bool IsXmlChar(uint32_t cp) {
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
           (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
  }

  static void AppendUtf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  void SkipSpace() {
    while (pos_ < doc_.size() &&
           (doc_[pos_] == ' ' || doc_[pos_] == '\t' || doc_[pos_] == '\n' || doc_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool ParseName(std::string& name) {
    const auto is_start = [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    };
    const auto is_name = [&](char c) {
      return is_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
    };
    if (pos_ >= doc_.size() || !is_start(doc_[pos_])) return Reject("expected a name");
    size_t start = pos_;
    while (pos_ < doc_.size() && is_name(doc_[pos_])) ++pos_;
    name = std::string(doc_.substr(start, pos_ - start));
    return true;
  }

  // At '&': appends the referenced character.
  bool ParseReference(std::string& out) {
    size_t end = doc_.find(';', pos_);
    if (end == std::string_view::npos || end - pos_ > 12) return Reject("unterminated reference");
    std::string_view ref = doc_.substr(pos_ + 1, end - pos_ - 1);
    if (ref == "lt") {
      out += '<';
    } else if (ref == "gt") {
      out += '>';
    } else if (ref == "amp") {
      out += '&';
    } else if (ref == "quot") {
      out += '"';
    } else if (ref == "apos") {
      out += '\'';
    } else if (ref.size() > 1 && ref[0] == '#') {
      const bool hex = ref[1] == 'x';
      std::string_view digits = ref.substr(hex ? 2 : 1);
      if (digits.empty()) return Reject("empty character reference");
      uint32_t cp = 0;
      for (char c : digits) {
        int d = (c >= '0' && c <= '9')          ? c - '0'
                : hex && (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : hex && (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                : -1;
        if (d < 0 || cp > 0x10FFFF) return Reject("bad character reference");
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
      }
      if (!IsXmlChar(cp)) return Reject("character reference to a character XML cannot carry");
      AppendUtf8(cp, out);
    } else {
      return Reject("unknown entity &" + std::string(ref) + ";");
    }
    pos_ = end + 1;
    return true;
  }

  bool ParseElement(XmlElement& element) {
    if (pos_ >= doc_.size() || doc_[pos_] != '<') return Reject("expected '<'");
    ++pos_;
    if (!ParseName(element.name)) return false;
    for (;;) {
      const size_t before = pos_;
      SkipSpace();
      if (pos_ >= doc_.size()) return Reject("unterminated start tag");
      if (doc_.substr(pos_, 2) == "/>") {
        pos_ += 2;
        return true;
      }
      if (doc_[pos_] == '>') {
        ++pos_;
        break;
      }
      if (pos_ == before) return Reject("expected white space before an attribute");
      std::string key;
      if (!ParseName(key)) return false;
      if (element.Attribute(key) != nullptr) return Reject("duplicate attribute " + key);
      SkipSpace();
      if (pos_ >= doc_.size() || doc_[pos_] != '=') return Reject("expected '='");
      ++pos_;
      SkipSpace();
      if (pos_ >= doc_.size() || (doc_[pos_] != '"' && doc_[pos_] != '\'')) {
        return Reject("expected a quoted value");
      }
      const char quote = doc_[pos_++];
      std::string value;
      while (pos_ < doc_.size() && doc_[pos_] != quote) {
        const char c = doc_[pos_];
        if (c == '<') return Reject("'<' in an attribute value");
        if (c == '&') {
          if (!ParseReference(value)) return false;
          continue;
        }
        // Attribute value normalisation: literal white space becomes a space.
        value += (c == '\t' || c == '\n' || c == '\r') ? ' ' : c;
        ++pos_;
      }
      if (pos_ >= doc_.size()) return Reject("unterminated attribute value");
      ++pos_;
      element.attributes.emplace_back(std::move(key), std::move(value));
    }
    for (;;) {  // content
      if (pos_ >= doc_.size()) return Reject("unterminated element " + element.name);
      const char c = doc_[pos_];
      if (c == '<') {
        if (doc_.substr(pos_, 2) == "</") break;
        if (doc_.substr(pos_, 2) == "<!" || doc_.substr(pos_, 2) == "<?") {
          return Reject("comments, CDATA and processing instructions are not expected");
        }
        element.children.emplace_back();
        if (!ParseElement(element.children.back())) return false;
      } else if (c == '&') {
        if (!ParseReference(element.text)) return false;
      } else {
        if (doc_.substr(pos_, 3) == "]]>") return Reject("']]>' in character data");
        // End-of-line normalisation: a literal \r is not kept.
        if (c != '\r') element.text += c;
        ++pos_;
      }
    }
    pos_ += 2;
    std::string closing;
    if (!ParseName(closing)) return false;
    if (closing != element.name) {
      return Reject("</" + closing + "> closes <" + element.name + ">");
    }
    SkipSpace();
    if (pos_ >= doc_.size() || doc_[pos_] != '>') return Reject("expected '>'");
    ++pos_;
    return true;
  }

  std::string_view doc_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace tracerig::testing
