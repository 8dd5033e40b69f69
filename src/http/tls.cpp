#include "http/tls.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace wirebox::http {
namespace fs = std::filesystem;

namespace {

bool is_ip(const std::string& h) { return h.find_first_not_of("0123456789.") == std::string::npos ||
                                          h.find(':') != std::string::npos; }

// A certificate chain and its key, as loaded from the files at one point in time.
struct KeyMaterial {
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  STACK_OF(X509)* chain = nullptr;  // intermediates after the leaf in the chain file
  KeyMaterial() = default;
  KeyMaterial(const KeyMaterial&) = delete;
  KeyMaterial& operator=(const KeyMaterial&) = delete;
  ~KeyMaterial() {
    X509_free(cert);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
  }
};

Result<std::shared_ptr<const KeyMaterial>> load_key_material(const CertPaths& paths) {
  auto m = std::make_shared<KeyMaterial>();
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new_file(paths.cert_file.c_str(), "r"), BIO_free);
  if (!cert_bio) return ApiError::internal("cannot load certificate " + paths.cert_file);
  m->cert = PEM_read_bio_X509_AUX(cert_bio.get(), nullptr, nullptr, nullptr);
  if (!m->cert) return ApiError::internal("cannot load certificate " + paths.cert_file);
  m->chain = sk_X509_new_null();
  while (X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) sk_X509_push(m->chain, extra);
  ERR_clear_error();  // the loop above ends with "no start line"
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new_file(paths.key_file.c_str(), "r"), BIO_free);
  if (key_bio) m->key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  if (!m->key) {
    ERR_clear_error();
    return ApiError::internal("cannot load private key " + paths.key_file);
  }
  if (X509_check_private_key(m->cert, m->key) != 1) {
    ERR_clear_error();
    return ApiError::internal("private key does not match certificate " + paths.cert_file);
  }
  return std::shared_ptr<const KeyMaterial>(std::move(m));
}

// The reloadable certificate of one server context. Until the first reload `material` is
// empty and handshakes use the certificate loaded into the context itself.
struct LiveCertificate {
  CertPaths paths;
  std::mutex mutex;
  std::shared_ptr<const KeyMaterial> material;

  std::shared_ptr<const KeyMaterial> current() {
    std::lock_guard lock(mutex);
    return material;
  }
};

// Contexts configured by configure_server_context(), for reload_certificates(). A context
// owns its LiveCertificate through ex_data; the registry only observes it.
std::mutex registry_mutex;
std::vector<std::weak_ptr<LiveCertificate>> registry;

void free_live_certificate(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::shared_ptr<LiveCertificate>*>(ptr);
}

int live_certificate_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_live_certificate);
  return index;
}

// OpenSSL's certificate callback, run by every server handshake before the certificate is
// chosen.
int select_certificate(SSL* ssl, void* arg) {
  auto material = static_cast<LiveCertificate*>(arg)->current();
  if (!material) return 1;
  return SSL_use_cert_and_key(ssl, material->cert, material->key, material->chain, 1) == 1 ? 1 : 0;
}

}  // namespace

Result<CertPaths> ensure_self_signed(const std::string& dir, const std::vector<std::string>& hostnames) {
  CertPaths p{dir + "/cert.pem", dir + "/key.pem"};
  if (fs::exists(p.cert_file) && fs::exists(p.key_file)) return p;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return ApiError::internal("cannot create " + dir + ": " + ec.message());

  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x509(X509_new(), X509_free);
  if (!key || !x509) return ApiError::internal("key generation failed");
  X509_set_version(x509.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x509.get()), static_cast<long>(time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(x509.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x509.get()), 3650L * 24 * 3600);
  X509_set_pubkey(x509.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x509.get());
  std::string cn = hostnames.empty() ? "localhost" : hostnames.front();
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("wirebox self-signed"), -1,
                             -1, 0);
  X509_set_issuer_name(x509.get(), name);
  std::string san;
  for (const auto& h : hostnames) {
    if (!san.empty()) san += ",";
    san += (is_ip(h) ? "IP:" : "DNS:") + h;
  }
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x509.get(), x509.get(), nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str());
  if (!ext) return ApiError::internal("bad subjectAltName " + san);
  X509_add_ext(x509.get(), ext, -1);
  X509_EXTENSION_free(ext);
  if (!X509_sign(x509.get(), key.get(), EVP_sha256())) return ApiError::internal("certificate signing failed");

  std::string key_tmp = p.key_file + ".tmp", cert_tmp = p.cert_file + ".tmp";
  mode_t old = umask(077);
  FILE* kf = std::fopen(key_tmp.c_str(), "w");
  umask(old);
  if (!kf) return ApiError::internal("cannot write " + key_tmp);
  bool ok = PEM_write_PrivateKey(kf, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  ok = (std::fclose(kf) == 0) && ok;
  FILE* cf = std::fopen(cert_tmp.c_str(), "w");
  if (!cf) return ApiError::internal("cannot write " + cert_tmp);
  ok = PEM_write_X509(cf, x509.get()) == 1 && ok;
  ok = (std::fclose(cf) == 0) && ok;
  if (!ok) return ApiError::internal("cannot write self-signed certificate");
  fs::rename(key_tmp, p.key_file, ec);
  if (!ec) fs::rename(cert_tmp, p.cert_file, ec);
  if (ec) return ApiError::internal("cannot install certificate: " + ec.message());
  return p;
}

void configure_server_context(boost::asio::ssl::context& ctx, const CertPaths& paths) {
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_cipher_list(native, "ECDHE+AESGCM:ECDHE+CHACHA20");
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(native, paths.cert_file.c_str()) != 1)
    throw std::runtime_error("cannot load certificate " + paths.cert_file);
  if (SSL_CTX_use_PrivateKey_file(native, paths.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("cannot load private key " + paths.key_file);
  if (SSL_CTX_check_private_key(native) != 1)
    throw std::runtime_error("private key does not match certificate " + paths.cert_file);

  auto live = std::make_shared<LiveCertificate>();
  live->paths = paths;
  auto* previous = static_cast<std::shared_ptr<LiveCertificate>*>(SSL_CTX_get_ex_data(native, live_certificate_index()));
  SSL_CTX_set_ex_data(native, live_certificate_index(), new std::shared_ptr<LiveCertificate>(live));
  delete previous;
  SSL_CTX_set_cert_cb(native, select_certificate, live.get());
  std::lock_guard lock(registry_mutex);
  std::erase_if(registry, [](const auto& w) { return w.expired(); });
  registry.push_back(live);
}

Result<int> reload_certificates() {
  std::vector<std::shared_ptr<LiveCertificate>> targets;
  {
    std::lock_guard lock(registry_mutex);
    std::erase_if(registry, [](const auto& w) { return w.expired(); });
    for (const auto& w : registry)
      if (auto live = w.lock()) targets.push_back(std::move(live));
  }
  int reloaded = 0;
  std::string failures;
  for (const auto& live : targets) {
    auto material = load_key_material(live->paths);
    if (!material) {
      failures += (failures.empty() ? "" : "; ") + material.error().message;
      continue;
    }
    std::lock_guard lock(live->mutex);
    live->material = std::move(material.value());
    ++reloaded;
  }
  if (!failures.empty()) return ApiError::internal(failures + " (kept the previous certificate)");
  return reloaded;
}

namespace {

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_size, const unsigned char* offered,
                unsigned int offered_size, void* arg) {
  const auto& ours = *static_cast<const std::string*>(arg);
  unsigned char* chosen = nullptr;
  int r = SSL_select_next_proto(&chosen, out_size, reinterpret_cast<const unsigned char*>(ours.data()),
                                static_cast<unsigned int>(ours.size()), offered, offered_size);
  if (r != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

void select_alpn_from(boost::asio::ssl::context& ctx, const std::string& protocols) {
  SSL_CTX_set_alpn_select_cb(ctx.native_handle(), select_alpn, const_cast<std::string*>(&protocols));
}

}  // namespace wirebox::http
