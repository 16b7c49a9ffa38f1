namespace scsipub::net {}
