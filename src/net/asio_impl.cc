// Boost.Asio and Boost.Beast compiled once for the whole program (BOOST_*_SEPARATE_COMPILATION is set
// on tracerig_net), which keeps every other translation unit light.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
