// The one translation unit that compiles Asio/Beast/Asio-SSL (BOOST_*_SEPARATE_COMPILATION),
// so the rest of the code includes only declarations and rebuilds fast.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
