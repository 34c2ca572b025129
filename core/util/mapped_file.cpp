// mmap-based read-only file mapping, or an owned copy of an in-memory buffer.
#include "core/util/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/util/errors.h"

namespace dynamo {

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ModelError(path.string() + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw ModelError(path.string() + ": cannot stat: " + std::strerror(err));
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw ModelError(path.string() + ": cannot mmap: " + std::strerror(err));
    }
    f->data_ = static_cast<const std::byte*>(p);
  }
  ::close(fd);
  return f;
}

std::shared_ptr<const MappedFile> MappedFile::from_bytes(std::string_view bytes, const std::filesystem::path& label) {
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = label;
  f->size_ = bytes.size();
  // Exactly bytes.size() bytes so that AddressSanitizer flags any read past the end.
  f->owned_.reset(new std::byte[bytes.size() == 0 ? 1 : bytes.size()]);
  if (!bytes.empty()) std::memcpy(f->owned_.get(), bytes.data(), bytes.size());
  f->data_ = bytes.empty() ? nullptr : f->owned_.get();
  return f;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr && !owned_) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace dynamo
