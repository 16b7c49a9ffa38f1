namespace scsipub::control {}
